"""Benchmarks: figures to read, not tests (`python -m bench.relay`)."""
