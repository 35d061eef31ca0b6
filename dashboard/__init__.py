"""App shell: settings, the Dash app factory, the CLI and the WSGI entry."""
