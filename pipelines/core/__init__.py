"""The base every other package stands on: paths, the schema, snapshots, calendar periods, the
DuckDB catalog, SQL files, configuration files, the contract of a report family and the
freshness hash. It imports no report family (import-linter checks this)."""
