"""WSGI entry for production servers: ``gunicorn dashboard.wsgi:server``."""

from dashboard.app import create_app, freeze_startup_heap

server = create_app().server
freeze_startup_heap()  # each worker imports this module once, after it is forked
