from flask import Blueprint

bp = Blueprint("members", __name__, url_prefix="/members")

# the views register routes on bp
from . import exception_views, export_views, import_views, paper_views, request_views, transfer_views, views  # noqa: E402,F401
