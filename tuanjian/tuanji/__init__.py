"""团籍 (issue 27): the 超龄 queue with its batch 超龄离团, and who was a member where as of a date."""
from flask import Blueprint

bp = Blueprint("tuanji", __name__, url_prefix="/tuanji")

from . import views  # noqa: E402,F401
