"""Page structure: pure functions that return Dash component trees, and their component ids."""
