from flask import Blueprint

bp = Blueprint("members", __name__, url_prefix="/members")

from . import views  # noqa: E402,F401
from . import exception_views  # noqa: E402,F401
