"""The data-quality gate: Great Expectations suites, run on DuckDB, that block bad snapshots."""
