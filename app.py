"""Entry point for `flask --app app` and `gunicorn app:app` (or `gunicorn 'tuanjian:create_app()'`)."""
from tuanjian import create_app

app = create_app()
