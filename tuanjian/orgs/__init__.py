from flask import Blueprint

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

from . import import_views, info_views, structure_views, views  # noqa: E402,F401
