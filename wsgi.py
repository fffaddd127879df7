"""WSGI entry point: `gunicorn wsgi:app`."""

from shopify_app import create_app
from shopify_app.tenancy import set_process_default

app = create_app()
set_process_default(None)  # outside a request, a web process sees no shop's rows (tenancy.py)
