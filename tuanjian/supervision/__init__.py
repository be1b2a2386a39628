from flask import Blueprint

bp = Blueprint("supervision", __name__, url_prefix="/progress")

from . import views  # noqa: E402,F401
from . import excepted_views  # noqa: E402,F401
