"""The `sql` transform: a DuckDB query over its inputs' Arrow batches (DESIGN 13)."""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from adf_core import component
from adf_core.data.arrow import arrow_enabled
from adf_core.hookspecs import hookimpl
from adf_core.records import select_inputs

Record = dict[str, Any]


@component
def sql(
    query: str,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    batch_size: int = 65536,
) -> Iterator[Any]:
    """Run a DuckDB SQL query over the inputs, each a table named by its alias.

    Every member of the previous stage (or every context key named by `input`) is visible to
    the query as a table of that name: `orders, customers | sql` can
    `select c.name, sum(o.amount) from orders o join customers c using (customer_id) group
    by 1`. The inputs are read into Arrow tables (DuckDB scans them without a copy) and the
    result streams out in Arrow batches (records with `batch_format = "records"`). Needs the
    `arrow` extra (pyarrow and duckdb).

    Args:
        query: the SQL query (DuckDB's dialect); quote a table name that is not an
            identifier ("my-alias").
        input: context keys to read instead of every member of the previous stage.
        batch_size: rows per emitted batch.
    """
    try:
        import duckdb
    except ImportError:
        raise ImportError("the sql transform needs duckdb and pyarrow: "
                          "pip install 'adf-core[arrow]'") from None
    from adf_core.data.arrow.annotations import to_table

    connection = duckdb.connect(":memory:")
    tables: dict[str, Any] = {}
    try:
        for name, data in select_inputs(upstream, context, input):
            tables[name] = to_table(data)
            connection.register(name, tables[name])
        try:
            relation = connection.sql(query)
            if relation is None:  # a statement without a result (CREATE, SET, ...)
                return
            rows = max(int(batch_size), 1)
            # duckdb >= 1.4 names it to_arrow_reader; earlier versions fetch_record_batch
            reader = (relation.to_arrow_reader(rows) if hasattr(relation, "to_arrow_reader")
                      else relation.fetch_record_batch(rows))
        except duckdb.Error as exc:
            raise ValueError(f"the query failed: {_first_line(exc)}; {_tables(tables)}; "
                             "fix the `query` option") from None
        as_records = not arrow_enabled()
        for batch in reader:
            if batch.num_rows:
                yield batch.to_pylist() if as_records else batch
    finally:
        connection.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _tables(tables: Mapping[str, Any]) -> str:
    if not tables:
        return "it has no input tables (give it a previous stage or `input` keys)"
    described = [f"{name} ({', '.join(t.schema.names) or 'no columns'})"
                 for name, t in tables.items()]
    return "its tables are: " + "; ".join(described)


@hookimpl
def adf_transforms() -> dict[str, Callable[..., Any]]:
    return {"sql": sql}


# It reads Arrow batches in this process (DESIGN 11): moving them would cost more.
component(in_process=True)(sql)
