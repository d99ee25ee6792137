"""Benchmarks: scripts that print figures (`python -m bench.updates`, `python -m bench.run_all`).

They are not tests: pytest does not collect them (its testpaths is `tests`) and CI does not run them.
"""
