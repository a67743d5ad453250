"""Benchmarks of the proctoring backend: `python -m bench.run` (see docs/benchmarks.md)."""
