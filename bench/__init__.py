"""Benchmarks of Shiyu: ``python -m bench`` lists them; results go to ``bench/results/``."""
