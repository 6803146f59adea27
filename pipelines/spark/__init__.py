"""The marts on Apache Spark: the session (config/spark.toml), the DuckDB-to-Spark transpiler
(sqlglot plus what it lacks) and the engine a MartWriter writes through. Imported only when
`marts --engine spark` asks for it."""

import warnings

# PySpark warns on every Arrow transfer that it has not caught up with pandas 3; the frames
# here cross as Arrow to and from Polars, and pandas is never used.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
