from flask import Blueprint

bp = Blueprint("reconcile", __name__, url_prefix="/reconcile")

from . import views  # noqa: E402,F401
