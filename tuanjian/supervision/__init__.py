from flask import Blueprint

bp = Blueprint("supervision", __name__, url_prefix="/progress")

from . import excepted_views, views  # noqa: E402,F401  (the views register routes on bp)
