"""Data layer: schema, repositories and loaders. Never imports dash."""
