from flask import Blueprint

bp = Blueprint("cadres", __name__, url_prefix="/cadres")

from . import views  # noqa: E402,F401
