"""Behaviour: each module exposes ``register(app, services)``; callbacks stay thin."""
