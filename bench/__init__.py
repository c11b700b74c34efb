"""Benchmarks: figures to read, not tests (`python -m bench.relay`, `python -m bench.export`;
bench/README.md)."""
