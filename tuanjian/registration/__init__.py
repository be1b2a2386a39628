from flask import Blueprint

bp = Blueprint("registration", __name__, url_prefix="/register")

from . import views  # noqa: E402,F401
