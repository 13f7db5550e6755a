"""Benchmarks: ``make bench`` prints figures. Performance targets live here, never in timed unit tests."""
