"""Benchmarks run by hand or by ``make bench`` (not tests): ``python -m benchmarks.<name>``."""
