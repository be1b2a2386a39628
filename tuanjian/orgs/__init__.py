from flask import Blueprint

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

from . import views, info_views, structure_views, import_views  # noqa: E402,F401
