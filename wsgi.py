"""Entry point for gunicorn and `flask --app wsgi`."""

from licensing import create_app

app = create_app()
