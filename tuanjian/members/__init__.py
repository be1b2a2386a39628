from flask import Blueprint

bp = Blueprint("members", __name__, url_prefix="/members")

from . import exception_views, views  # noqa: E402,F401  (the views register routes on bp)
