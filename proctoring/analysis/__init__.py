"""Face counting and voice activity on numpy arrays (no Django: it runs and benchmarks alone)."""
