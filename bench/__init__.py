"""Benchmarks: ratios measured within one run (see BENCHMARKS.md)."""
