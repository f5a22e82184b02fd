"""Benchmarks of Tiandi's hot paths against a real server on PostgreSQL.

`python -m bench` runs every benchmark, `python -m bench NAME` one; see docs/benchmarks.md.
Each module registers itself with `bench.harness.register` and is imported in
`bench.harness.run`.
"""
