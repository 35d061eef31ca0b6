"""Geometry: coordinate systems, coverages, map views and spatial statistics. Never imports dash."""
