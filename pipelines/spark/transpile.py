"""The marts' DuckDB SQL as Spark SQL, through sqlglot, with what sqlglot does not carry.

The families' SQL stays the one definition of each mart. sqlglot reads DuckDB's dialect and
writes Spark's; this module adds the few rewrites sqlglot lacks or gets wrong, and refuses,
naming the file and line, any construct that neither carries:

- `epoch_us(t)`: Spark's `unix_micros`, of the timestamp taken as UTC (the session's zone).
- `md5_number_lower(s)`: the lower 64 bits of the MD5, little-endian, as DuckDB defines it,
  rebuilt from Spark's hexadecimal `md5` as a DECIMAL(20,0) (Spark has no unsigned BIGINT).
- `isodow(t)`: sqlglot writes `(DAYOFWEEK(t) % 7) + 1`, which is off by one day (Spark's
  DAYOFWEEK counts from Sunday = 1); here Monday = 1 ... Sunday = 7, as in DuckDB.
- `regexp_full_match(s, p)`: Spark's RLIKE finds a match anywhere, so the pattern is anchored
  whole, `^(?:p)$` (the patterns are the gate's ID formats, the same in RE2 and Java).
- `list(x ORDER BY x)[a:b]`: sqlglot drops the ORDER BY and keeps DuckDB's slice syntax;
  here `SLICE(ARRAY_SORT(COLLECT_LIST(x)), a, b - a + 1)`.
- `query_table($name)` (a table named by a parameter): Spark's `IDENTIFIER(:name)`.
- `first(x ORDER BY k1 DESC, k2)`: Spark has no ordered aggregates; `min_by(x, (-k1, k2))`
  picks the same row (a DESC key must be numeric, which Spark's analyser checks).
- `concat(a, b)` of non-strings: sqlglot writes `CONCAT(COALESCE(a, ''), ...)`, and Spark
  takes a number coalesced with '' as a DOUBLE (an ID of 19 digits loses its last ones); each
  argument is cast to a string first, as DuckDB's concat does.
- `WITH ... AS MATERIALIZED`: a DuckDB planning hint, dropped.
- `xor(a, b) * c`: sqlglot writes `a ^ b * c`, which Spark reads as `a ^ (b * c)` (its bitwise
  operators bind more loosely than arithmetic); each bitwise operation is parenthesised.

Anything else DuckDB-only (a function sqlglot does not know, a statement that is not a query,
`UNION BY NAME`) raises TranspileError.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

#: Functions sqlglot does not model but that Spark has under the same name and meaning.
SAME_IN_SPARK = frozenset({"bit_count"})


class TranspileError(ValueError):
    """A construct of a mart's SQL that has no Spark equivalent here; says where."""


def _where(sql: str, source: str | None) -> str:
    path = getattr(sql, "path", None)
    return str(path) if isinstance(path, Path) else (source or "<query>")


def _line(node: exp.Expression) -> int | None:
    for child in node.walk():
        line = child.meta.get("line") if child.meta else None
        if line:
            return int(line)
    return None


def _spark(text: str, **args: exp.Expression) -> exp.Expression:
    """A Spark expression with `__name` columns standing for the given expressions."""
    tree = sqlglot.parse_one(text, read="spark")
    for column in list(tree.find_all(exp.Column)):
        if column.name.startswith("__"):
            column.replace(args[column.name[2:]].copy())
    return tree


def _md5_number_lower(arg: exp.Expression) -> exp.Expression:
    hexes = ", ".join(f"SUBSTRING(MD5(__s), {i}, 2)" for i in range(31, 15, -2))
    return _spark(f"CAST(CONV(CONCAT({hexes}), 16, 10) AS DECIMAL(20, 0))", s=arg)


def _ordered_first(node: exp.First) -> exp.Expression:
    order = node.this
    keys = []
    for key in order.expressions:
        value = key.this.copy()
        keys.append(exp.Neg(this=exp.Paren(this=value)) if key.args.get("desc") else value)
    struct = exp.Anonymous(this="STRUCT", expressions=keys)
    return exp.Anonymous(this="MIN_BY", expressions=[order.this.copy(), struct])


def _sorted_list(order: exp.Order, where: str) -> exp.Expression:
    keys = order.expressions
    if len(keys) != 1 or keys[0].args.get("desc") or keys[0].this != order.this:
        raise TranspileError(f"{where}:{_line(order) or '?'}: list(x ORDER BY ...) other than by x itself")
    return _spark("ARRAY_SORT(COLLECT_LIST(__x))", x=order.this)


def _slice(node: exp.Bracket, where: str) -> exp.Expression:
    bounds = node.expressions[0]
    lo, hi = bounds.this, bounds.expression
    if not (isinstance(lo, exp.Literal) and isinstance(hi, exp.Literal) and not lo.is_string and not hi.is_string):
        raise TranspileError(f"{where}:{_line(node) or '?'}: a list slice needs whole-number bounds")
    start, stop = int(lo.name), int(hi.name)
    return _spark(f"SLICE(__x, {start}, {stop - start + 1})", x=node.this)


def _rewrite(node: exp.Expression, where: str) -> exp.Expression:
    if isinstance(node, exp.CTE) and node.args.get("materialized"):
        node.set("materialized", None)
        return node
    if isinstance(node, exp.Concat):
        for arg in node.expressions:
            if not (isinstance(arg, exp.Literal) and arg.is_string):
                arg.replace(exp.cast(arg.copy(), exp.DataType.build("VARCHAR")))
        return node
    if isinstance(node, (exp.BitwiseXor, exp.BitwiseAnd, exp.BitwiseOr)) and not isinstance(node.parent, exp.Paren):
        return exp.Paren(this=node.copy())
    if isinstance(node, exp.DayOfWeekIso):
        return _spark("((DAYOFWEEK(__t) + 5) % 7) + 1", t=node.this)
    if isinstance(node, exp.First) and isinstance(node.this, exp.Order):
        return _ordered_first(node)
    if isinstance(node, exp.RegexpFullMatch):
        return _spark("__s RLIKE CONCAT('^(?:', __p, ')$')", s=node.this, p=node.expression)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _sorted_list(node.this, where)
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        return _slice(node, where)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "epoch_us" and len(node.expressions) == 1:
            return _spark("UNIX_MICROS(CAST(__t AS TIMESTAMP_LTZ))", t=node.expressions[0])
        if name == "md5_number_lower" and len(node.expressions) == 1:
            return _md5_number_lower(node.expressions[0])
        if name == "query_table" and len(node.expressions) == 1:
            return exp.Anonymous(this="IDENTIFIER", expressions=[node.expressions[0].copy()])
        if name not in SAME_IN_SPARK:
            raise TranspileError(f"{where}:{_line(node) or '?'}: {node.name}() has no Spark equivalent")
    if isinstance(node, exp.Union) and node.args.get("by_name"):
        raise TranspileError(f"{where}:{_line(node) or '?'}: UNION BY NAME has no Spark SQL equivalent")
    return node


def to_spark(sql: str, source: str | None = None) -> str:
    """One DuckDB statement (a query) as Spark SQL; `$name` parameters become `:name`.
    Raises TranspileError naming the file (a SqlFolder text knows its own) or `source`, and
    the line, of the first construct that has no Spark equivalent."""
    where = _where(sql, source)
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except SqlglotError as exc:
        raise TranspileError(f"{where}: not read as DuckDB SQL: {exc}") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise TranspileError(f"{where}: one query expected, found {len(statements)} statements")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        kind = tree.name if isinstance(tree, exp.Command) else tree.key.upper()
        raise TranspileError(f"{where}:{_line(tree) or 1}: {kind} ... is not a query; a mart step is one query")
    # Innermost first, so that a rewrite copies arguments that are rewritten already.
    for node in reversed(list(tree.walk(bfs=False))):
        new = _rewrite(node, where)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise TranspileError(f"{where}: {exc}") from None
