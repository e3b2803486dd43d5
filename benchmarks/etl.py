"""ETL benchmark: 1,000,000 rows from SQLite and from PostgreSQL, through `merge`, into JSONL.

Three implementations move the same table into a JSON-lines file, each in its own subprocess
(so that peak RSS is its own), side by side in one table:

- floor: a hand-written script on the same drivers (sqlite3 / psycopg through SQLAlchemy,
  a server-side cursor, fetch 1000 rows at a time, one JSON encoder, temporary file + rename);
- adf:   ``DataFlow.parse("db | merge | file")`` with the built-in components;
- dlt:   dlt's ``sql_database`` source (sql_table, sqlalchemy backend) to its ``filesystem``
  destination, jsonl, uncompressed (``pip install "dlt[sql_database]"``; skipped if absent).

adf also runs on a tenth of the rows: a flat memory profile shows the same peak RSS for both.
Targets: adf >= 0.8x the floor's rows/s, faster than dlt, flat peak memory. Peak RSS is the
child's VmHWM; "(imports)" is the same before the work started (interpreter + imports).

    python benchmarks/etl.py [--rows 1000000] [--only sqlite|postgresql] [--no-dlt]
    python benchmarks/etl.py --files [--jsonl] [--rows 1000000] [--repeats 3]  # csv, jsonl
    python benchmarks/etl.py --only bad-records [--bad-rows 200000] [--bad-rounds 5]

Bad records (issue 11): the built-in `file` source reads JSONL into the `file` destination,
and CSV into a SQLite table (`db`), clean under `on_error=fail` and with 1% bad lines under
`on_error=dead_letter` (broken JSON, a CSV row with a field too many), the cases interleaved
round after round in this process; the table shows median rows/s (lines read per second) and
the ratio to the clean run (a clean run under dead_letter shows what the policy's line-by-line
reader costs alone). A third flow sends JSONL into the table with 1% of the records holding
`"paid": "yes"` for a BOOLEAN column: the database refuses each batch holding one, and the
destination finds the bad records and writes the others (see adf_plugins/db_rejects.py).
Target: 1% bad under dead_letter within 10% (>= 0.90x). It runs after the rows table
(`--suite rows`), or alone with `--only bad-records`.

PostgreSQL: 127.0.0.1:5432, database `test` (ADF_BENCH_PG_URL overrides); skipped if absent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TABLE = "adf_bench_etl_orders"
PG_URL = os.environ.get("ADF_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH = 1000


# ------------------------------------------------------------------------------ data
def _row(i: int) -> tuple[Any, ...]:
    return (
        i,
        f"customer {i % 50_000}",
        ("DE", "FR", "GB", "US", "PL")[i % 5],
        round((i % 100_000) / 7, 2),
        ("paid", "open", "refunded")[i % 3],
        f"2026-11-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
    )


def seed_sqlite(path: Path, rows: int) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    con.execute(
        f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, customer TEXT, country TEXT, "
        "amount REAL, status TEXT, created_at TEXT)"
    )
    con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)", map(_row, range(1, rows + 1)))
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def pg_available() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
        return True
    except OSError:
        return False


def seed_postgresql(rows: int) -> str:
    """Create the table once (COPY); reuse it while it holds exactly `rows` rows."""
    import psycopg

    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as con:
        exists = con.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0]
        if exists and con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == rows:
            return PG_URL
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        con.execute(
            f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, customer TEXT, country TEXT, "
            "amount DOUBLE PRECISION, status TEXT, created_at TIMESTAMP)"
        )
        with con.cursor().copy(f"COPY {TABLE} FROM STDIN") as copy:
            for i in range(1, rows + 1):
                copy.write_row(_row(i))
        con.execute(f"ANALYZE {TABLE}")
    return PG_URL


# ------------------------------------------------------------------------------ runs
def run_floor(url: str, out: Path, limit: int) -> None:
    """The hand-written script: what any of us would write with the same drivers."""
    import sqlalchemy as sa

    def default(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    encode = json.JSONEncoder(default=default, ensure_ascii=False).encode
    engine = sa.create_engine(url)
    tmp = out.with_name(f".{out.name}.tmp")
    with engine.connect() as conn, open(tmp, "w", encoding="utf-8") as handle:
        conn = conn.execution_options(stream_results=True, max_row_buffer=BATCH)
        result = conn.execute(sa.text(f"SELECT * FROM {TABLE} WHERE id <= :n"), {"n": limit})
        keys = list(result.keys())
        for rows in result.partitions(BATCH):
            handle.write("\n".join(encode(dict(zip(keys, row, strict=True))) for row in rows))
            handle.write("\n")
    os.replace(tmp, out)
    engine.dispose()


def run_adf(url: str, out: Path, limit: int) -> None:
    from adf_core import DataFlow

    flow = DataFlow.parse(
        "db | merge | file",
        options={
            "db": {
                "url": url,
                "query": f"SELECT * FROM {TABLE} WHERE id <= :n",
                "params": {"n": limit},
                "batch_size": BATCH,
            },
            "file": {"path": str(out), "fsync": False},
        },
    )
    flow.run({})


def run_dlt(url: str, out: Path, limit: int) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DATA_WRITER__DISABLE_COMPRESSION", "true")
    import dlt
    from dlt.sources.sql_database import sql_table

    base = out.parent / "dlt"
    source = sql_table(credentials=url, table=TABLE, chunk_size=BATCH)
    pipeline = dlt.pipeline(
        pipeline_name="adf_bench",
        pipelines_dir=str(base / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(base / "files").as_uri()),
        dataset_name="bench",
    )
    pipeline.run(source, loader_file_format="jsonl")
    files = sorted((base / "files").rglob(f"{TABLE}*/*.jsonl*"))
    with open(out, "wb") as handle:  # one file, like the others, for the row check
        for each in files:
            handle.write(each.read_bytes())


RUNS = {"floor": run_floor, "adf": run_adf, "dlt": run_dlt}


def peak_rss_kb() -> int:
    """This process's peak RSS. Linux keeps ru_maxrss across fork+exec (a child would report
    its parent's peak), so read VmHWM, which belongs to the process image."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(impl: str, url: str, out: str, limit: int) -> None:
    """Runs in the subprocess: prepare imports, time the work, report one JSON line."""
    import sqlalchemy  # noqa: F401  (every implementation imports it; not part of the timing)

    if impl == "adf":
        os.environ["ADF_BATCH_FORMAT"] = "records"  # this suite measures the row path
        import adf_core.engine.runner  # noqa: F401
    target = Path(out)
    base_kb = peak_rss_kb()
    start = time.perf_counter()
    RUNS[impl](url, target, limit)
    seconds = time.perf_counter() - start
    with open(target, "rb") as handle:
        rows = sum(1 for _ in handle)
    peak_kb = peak_rss_kb()
    print(
        json.dumps(
            {"rows": rows, "seconds": seconds, "peak_mb": peak_kb / 1024, "base_mb": base_kb / 1024}
        )
    )


def measure(impl: str, url: str, workdir: Path, limit: int) -> dict[str, Any]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"{impl}-", dir=workdir))
    out = run_dir / "orders.jsonl"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", impl, url, str(out), str(limit)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    shutil.rmtree(run_dir, ignore_errors=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ columnar (issue 12)
# `--suite columnar`: the db connector's Arrow path against the tools a data engineer would
# pick instead, each case in its own subprocess (its own peak RSS), side by side in one run.
COLUMNAR_TABLE = "adf_bench_etl_columnar"
PG_DSN = PG_URL.replace("postgresql+psycopg://", "postgresql://")
_SQL_ROW = (  # the same six columns as _row(), computed by the database itself
    "{i}, 'customer ' || ({i} % 50000), "
    "(CASE {i} % 5 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' WHEN 2 THEN 'GB' WHEN 3 THEN 'US' "
    "ELSE 'PL' END), round((({i} % 100000) / 7.0), 2), "
    "(CASE {i} % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'refunded' END), {created}"
)


def columnar_table(rows: int) -> str:
    return f"{COLUMNAR_TABLE}_{rows}"


def seed_columnar_sqlite(path: Path, rows: int) -> str:
    """A table of `rows` rows (SQL-generated: seconds, not minutes, at 5M rows)."""
    import sqlite3

    name = columnar_table(rows)
    created = ("printf('2026-11-%02d %02d:%02d:00', 1 + i % 28, i % 24, i % 60)")
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, customer TEXT, country TEXT, "
                "amount REAL, status TEXT, created_at TEXT)")
    con.execute(
        f"INSERT INTO {name} WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        f"WHERE i < {rows}) SELECT {_SQL_ROW.format(i='i', created=created)} FROM n")
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def seed_columnar_postgresql(rows: int) -> str:
    import psycopg

    name = columnar_table(rows)
    created = ("timestamp '2026-11-01' + (i % 28) * interval '1 day' + (i % 24) * "
               "interval '1 hour' + (i % 60) * interval '1 minute'")
    with psycopg.connect(PG_DSN, autocommit=True) as con:
        exists = con.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0]
        if exists and con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == rows:
            return PG_URL
        con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, customer TEXT, country TEXT, "
                    "amount DOUBLE PRECISION, status TEXT, created_at TIMESTAMP)")
        con.execute(f"INSERT INTO {name} SELECT {_SQL_ROW.format(i='i', created=created)} "
                    f"FROM generate_series(1, {rows}) i")
        con.execute(f"ANALYZE {name}")
    return PG_URL


def _adbc_connect(url: str) -> Any:
    if url.startswith("sqlite"):
        import adbc_driver_sqlite.dbapi as lite

        return lite.connect(url.removeprefix("sqlite:///"))
    import adbc_driver_postgresql.dbapi as pg

    return pg.connect(PG_DSN)


def col_adbc_parquet(url: str, table: str, out: Path) -> None:
    """The floor: raw ADBC, record batches straight into a streaming ParquetWriter."""
    import pyarrow.parquet as pq

    with _adbc_connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        reader = cursor.fetch_record_batch()
        with pq.ParquetWriter(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)


def _polars_frame(url: str, table: str) -> Any:
    import polars as pl

    uri = PG_DSN if url.startswith("postgresql") else url
    return pl.read_database_uri(f"SELECT * FROM {table}", uri, engine="connectorx")


def col_polars_ndjson(url: str, table: str, out: Path) -> None:
    _polars_frame(url, table).write_ndjson(out)


def col_polars_parquet(url: str, table: str, out: Path) -> None:
    _polars_frame(url, table).write_parquet(out)


def col_dlt_parquet(url: str, table: str, out: Path) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from dlt.sources.sql_database import sql_table

    base = out.parent / "dlt"
    pipeline = dlt.pipeline(
        pipeline_name="adf_bench_columnar", pipelines_dir=str(base / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(base / "files").as_uri()),
        dataset_name="bench")
    pipeline.run(sql_table(credentials=url, table=table, backend="pyarrow", chunk_size=65_536),
                 loader_file_format="parquet")
    out.mkdir()
    for n, each in enumerate(sorted((base / "files").rglob(f"{table}*/*.parquet"))):
        each.rename(out / f"{n}.parquet")


def _adf_cli(*args: str) -> None:
    """`adf run ...` in this process (the console script's own entry point)."""
    from adf_core.cli import main as adf_main

    try:
        adf_main(["run", "-q", *args])
    except SystemExit as done:
        if done.code:
            raise RuntimeError(f"adf run exited {done.code}") from None


def col_adf_parquet(url: str, table: str, out: Path) -> None:
    _adf_cli("db | file", "-o", f"db.url={url}", "-o", f"db.table={table}",
             "-o", f"file.path={out}")


col_adf_jsonl = col_adf_parquet  # the output's suffix picks the format


def col_adf_filter_parquet(url: str, table: str, out: Path) -> None:
    """The copy through `filter` (a condition every row meets: the same rows are written)."""
    _adf_cli("db | filter | file", "-o", f"db.url={url}", "-o", f"db.table={table}",
             "-o", "filter.where=amount >= 0", "-o", f"file.path={out}")


def col_adbc_ingest(url: str, table: str, source: Path) -> None:
    """The floor of loading: raw ADBC bulk ingest (COPY) of the Parquet file's batches."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    with _adbc_connect(url) as conn, conn.cursor() as cursor:
        cursor.adbc_ingest(table, parquet.iter_batches(), mode="create")
        conn.commit()


def _adf_load(url: str, table: str, source: Path) -> None:
    """`adf run "file | db"` into a table that is not there (as for the raw ingest)."""
    _adf_cli("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
             "-o", f"db.table={table}")


col_adf_ingest = col_adf_records_ingest = _adf_load

COLUMNAR = {
    "raw ADBC -> ParquetWriter": (col_adbc_parquet, "parquet"),
    "polars+connectorx -> NDJSON": (col_polars_ndjson, "jsonl"),
    "polars+connectorx -> Parquet": (col_polars_parquet, "parquet"),
    "dlt pyarrow -> Parquet": (col_dlt_parquet, "dir"),
    "adf run db|file -> Parquet": (col_adf_parquet, "parquet"),
    "adf run db|file -> JSONL": (col_adf_jsonl, "jsonl"),
    "adf run db|filter|file -> Parquet": (col_adf_filter_parquet, "parquet"),
    "raw ADBC ingest <- Parquet": (col_adbc_ingest, "load"),
    "adf run file|db <- Parquet": (col_adf_ingest, "load"),
    "adf records file|db <- Parquet": (col_adf_records_ingest, "load"),
}


def _count(out: Path, kind: str, url: str, table: str) -> int:
    if kind == "load":
        with _adbc_connect(url) as conn, conn.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return int(cursor.fetchone()[0])
    import pyarrow.parquet as pq

    if kind == "dir":
        return sum(pq.ParquetFile(p).metadata.num_rows for p in out.glob("*.parquet"))
    if kind == "parquet":
        return int(pq.ParquetFile(out).metadata.num_rows)
    with open(out, "rb") as handle:
        return sum(1 for _ in handle)


def columnar_child(case: str, url: str, table: str, path: str) -> None:
    run, kind = COLUMNAR[case]
    if case.startswith("adf records"):
        os.environ["ADF_BATCH_FORMAT"] = "records"
    import sqlalchemy  # noqa: F401  (imports are not part of the timing)

    if case.startswith("adf"):  # what the adf console script sets before pyarrow loads
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        # start-up (plugin discovery, lazy imports: benchmarks/startup.py measures it) is
        # not part of the timing either: one warm-up run of one row first
        warm = Path(path).with_name(f"warm-up{Path(path).suffix or '.jsonl'}")
        _adf_cli("db | file", "-o", f"db.url={url}", "-o", "db.query=SELECT 1 AS x",
                 "-o", f"file.path={warm.with_suffix('.parquet')}")
        warm.with_suffix(".parquet").unlink(missing_ok=True)
    elif case.startswith("polars"):
        import polars  # noqa: F401
    elif case.startswith("dlt"):
        import dlt  # noqa: F401
    if case.startswith("raw ADBC") or kind == "load":
        # the DB-API modules: they import polars too where it is installed (adf's source
        # does not use them; its warm-up imported what it uses)
        import adbc_driver_postgresql.dbapi  # noqa: F401
        import adbc_driver_sqlite.dbapi  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    target = Path(path)
    if kind == "load":  # every load starts without the table (not part of the timing)
        with _adbc_connect(url) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            conn.commit()
    base_kb = peak_rss_kb()
    start = time.perf_counter()
    run(url, table, target)
    seconds = time.perf_counter() - start
    peak_kb = peak_rss_kb()  # before counting: that is not part of the work
    rows = _count(target, kind, url, table)
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak_kb / 1024,
                      "base_mb": base_kb / 1024}))


def columnar_measure(case: str, url: str, table: str, path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--columnar-child", case, url, table, str(path)],
        capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _rate(result: dict[str, Any]) -> float | None:
    return result["rows"] / result["seconds"] if "seconds" in result else None


def columnar(rows: int, big: int, only: str | None, repeat: int) -> None:
    """Every case at `rows` rows from both databases, adf and polars again at `big` rows."""
    import statistics

    workdir = Path(tempfile.mkdtemp(prefix="adf-bench-columnar-"))
    try:
        sources: list[tuple[str, str]] = []
        if only in (None, "sqlite"):
            print(f"seeding SQLite with {rows:,} and {big:,} rows ...", flush=True)
            seed_columnar_sqlite(workdir / "orders.db", rows)
            sources.append(("sqlite", seed_columnar_sqlite(workdir / "orders.db", big)))
        if only in (None, "postgresql"):
            if pg_available():
                print(f"seeding PostgreSQL with {rows:,} and {big:,} rows ...", flush=True)
                seed_columnar_postgresql(rows)
                sources.append(("postgresql", seed_columnar_postgresql(big)))
            else:
                print("PostgreSQL is not running on 127.0.0.1:5432: its rows are skipped")
        plan: list[tuple[str, str, str, int]] = []
        for db, url in sources:
            for case, (_run, kind) in COLUMNAR.items():
                if kind == "load" and db != "postgresql":
                    continue
                plan.append((db, url, case, rows))
            for case in ("adf run db|file -> Parquet", "polars+connectorx -> Parquet"):
                plan.append((db, url, case, big))
        parquet = workdir / "load.parquet"
        if any(COLUMNAR[case][1] == "load" for _db, _url, case, _n in plan):
            col_adbc_parquet(PG_URL, columnar_table(rows), parquet)
        results: dict[tuple[str, str, int], dict[str, Any]] = {}
        for db, url, case, n in plan:
            runs = []
            for round_ in range(repeat):
                print(f"  {db}: {case} ({n:,} rows, round {round_ + 1}) ...", flush=True)
                kind = COLUMNAR[case][1]
                path = workdir / f"out-{len(results)}-{round_}.{kind}"
                table = columnar_table(n)
                if kind == "load":
                    table, path = f"{COLUMNAR_TABLE}_load", parquet
                runs.append(columnar_measure(case, url, table, path))
                if kind == "dir":
                    shutil.rmtree(path, ignore_errors=True)
                elif kind != "load":
                    path.unlink(missing_ok=True)
            ok = [r for r in runs if "seconds" in r]
            if not ok:
                results[(db, case, n)] = runs[-1]
                continue
            results[(db, case, n)] = {
                "rows": ok[0]["rows"], "seconds": statistics.median(r["seconds"] for r in ok),
                "peak_mb": max(r["peak_mb"] for r in ok), "base_mb": ok[0]["base_mb"]}
        if any(db == "postgresql" for db, _u in sources):
            with _adbc_connect(PG_URL) as conn, conn.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {COLUMNAR_TABLE}_load")
                conn.commit()
        _columnar_table(results, rows, big, repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _columnar_table(results: dict[tuple[str, str, int], dict[str, Any]], rows: int, big: int,
                    repeat: int) -> None:
    anchors = {"<-": "raw ADBC ingest <- Parquet", "NDJSON": "polars+connectorx -> NDJSON",
               "JSONL": "polars+connectorx -> NDJSON", "Parquet": "raw ADBC -> ParquetWriter"}
    print(f"\nmedian of {repeat} run(s); peak RSS is the process's VmHWM\n")
    header = (f"{'db':<10} {'case':<34} {'rows':>9} {'seconds':>8} {'rows/s':>10} "
              f"{'vs anchor':>18} {'peak RSS':>9}")
    print(header)
    print("-" * len(header))
    for (db, case, n), r in results.items():
        if "error" in r:
            print(f"{db:<10} {case:<34} failed: {r['error']}")
            continue
        rate = _rate(r) or 0.0
        anchor = next((a for k, a in anchors.items() if k in case), None)
        base = results.get((db, anchor, n), {}) if anchor else {}
        ratio = "-"
        if base and base is not r and _rate(base):
            ratio = f"{rate / (_rate(base) or 1):.2f}x {anchor.split()[0]}"
            if "ingest" in anchor:
                ratio = f"{rate / (_rate(base) or 1):.2f}x ADBC ingest"
        print(f"{db:<10} {case:<34} {r['rows']:>9,} {r['seconds']:>8.2f} {rate:>10,.0f} "
              f"{ratio:>18} {r['peak_mb']:>7.0f}MB")
    print()
    for db in dict.fromkeys(db for db, _c, _n in results):
        get = lambda case, n=rows, db=db: results.get((db, case, n), {})  # noqa: E731
        parts = []
        adf_pq, adbc = _rate(get("adf run db|file -> Parquet")), _rate(get(COLUMNAR_FLOOR))
        if adf_pq and adbc:
            parts.append(f"->Parquet {adf_pq / adbc:.2f}x raw ADBC (target >= 1.0)")
        adf_js, pl_js = _rate(get("adf run db|file -> JSONL")), _rate(
            get("polars+connectorx -> NDJSON"))
        if adf_js and pl_js:
            parts.append(f"->JSONL {adf_js / pl_js:.2f}x polars (target >= 1.0)")
        filtered = _rate(get("adf run db|filter|file -> Parquet"))
        if filtered and adf_pq:
            parts.append(f"db|filter|file {filtered / adf_pq:.2f}x the copy (target >= 0.8)")
        load, today, raw = (_rate(get("adf run file|db <- Parquet")),
                            _rate(get("adf records file|db <- Parquet")),
                            _rate(get("raw ADBC ingest <- Parquet")))
        if load and today and raw:
            parts.append(f"<-Parquet {load / today:.1f}x today (>= 5), {load / raw:.2f}x ADBC "
                         "ingest (>= 0.8)")
        small, large = get("adf run db|file -> Parquet"), get("adf run db|file -> Parquet", big)
        polars_small = get("polars+connectorx -> Parquet")
        polars_large = get("polars+connectorx -> Parquet", big)
        if "peak_mb" in small and "peak_mb" in large:
            flat = large["peak_mb"] <= small["peak_mb"] * 1.1
            below = all(p.get("peak_mb", 0) > a["peak_mb"] for p, a in
                        ((polars_small, small), (polars_large, large)))
            parts.append(f"RSS {small['peak_mb']:.0f}MB at {rows:,} (<= 200), "
                         f"{large['peak_mb']:.0f}MB at {big:,} (flat: {flat}), "
                         f"below polars: {below}")
        print(f"{db}: " + "; ".join(parts))


COLUMNAR_FLOOR = "raw ADBC -> ParquetWriter"


# ------------------------------------------------------------------------------ main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql", "bad-records"])
    parser.add_argument("--bad-rows", type=int, default=200_000)
    parser.add_argument("--bad-rounds", type=int, default=5)
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt pipeline")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--columnar-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--suite", choices=["columnar", "rows"], default="columnar",
        help="columnar: the db connector's Arrow path against raw ADBC, polars+connectorx and "
             "dlt (issue 12); rows: the dict path against a hand-written script")
    parser.add_argument("--big", type=int, default=5_000_000,
                        help="rows of the memory run (columnar suite)")
    parser.add_argument("--files", action="store_true",
                        help="the file rows instead: csv -> parquet, with and without filter, "
                             "then jsonl -> parquet and jsonl")
    parser.add_argument("--jsonl", action="store_true",
                        help="with --files: the jsonl table alone")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs per case, the median (default: 3 for --files, else 1)")
    args = parser.parse_args()
    if args.only == "bad-records":
        bad_records(args.bad_rows, args.bad_rounds)
        return 0
    if args.files:
        return main_files(args.rows, args.repeats or 3, jsonl_only=args.jsonl)
    if args.columnar_child:
        columnar_child(*args.columnar_child)
        return 0
    if args.suite == "columnar" and not args.child:
        columnar(args.rows, args.big, args.only, max(args.repeats or 1, 1))
        return 0
    if args.child:
        impl, url, out, limit = args.child
        child(impl, url, out, int(limit))
        return 0

    try:
        import dlt  # noqa: F401

        has_dlt = not args.no_dlt
    except ImportError:
        has_dlt = False
        print('dlt is not installed (pip install "dlt[sql_database]"): its rows are skipped')

    workdir = Path(tempfile.mkdtemp(prefix="adf-bench-etl-"))
    sources: list[tuple[str, str]] = []
    try:
        if args.only in (None, "sqlite"):
            print(f"seeding SQLite with {args.rows:,} rows ...", flush=True)
            sources.append(("sqlite", seed_sqlite(workdir / "orders.db", args.rows)))
        if args.only in (None, "postgresql"):
            if pg_available():
                print(f"seeding PostgreSQL with {args.rows:,} rows ...", flush=True)
                sources.append(("postgresql", seed_postgresql(args.rows)))
            else:
                print("PostgreSQL is not running on 127.0.0.1:5432: its rows are skipped")

        small = max(args.rows // 10, 1)
        plan = [("floor", args.rows), ("adf", args.rows), ("adf", small)]
        if has_dlt:
            plan.append(("dlt", args.rows))
        header = (
            f"{'source':<11} {'implementation':<15} {'rows':>10} {'seconds':>8} "
            f"{'rows/s':>10} {'vs floor':>9} {'peak RSS':>9} {'(imports)':>10}"
        )
        results: list[tuple[str, str, dict[str, Any]]] = []
        for db, url in sources:
            for impl, limit in plan:
                print(f"  {db}: {impl} ({limit:,} rows) ...", flush=True)
                results.append(
                    (
                        db,
                        f"{impl}" if limit == args.rows else f"{impl} (1/10)",
                        measure(impl, url, workdir, limit),
                    )
                )
        print()
        print(header)
        print("-" * len(header))
        verdicts = []
        for db, _url in sources:
            rows = {name: r for d, name, r in results if d == db}
            floor = rows.get("floor", {})
            floor_rate = floor["rows"] / floor["seconds"] if "seconds" in floor else None
            for name, r in rows.items():
                if "error" in r:
                    print(f"{db:<11} {name:<15} failed: {r['error']}")
                    continue
                rate = r["rows"] / r["seconds"]
                ratio = f"{rate / floor_rate:.2f}x" if floor_rate else "-"
                print(
                    f"{db:<11} {name:<15} {r['rows']:>10,} {r['seconds']:>8.2f} "
                    f"{rate:>10,.0f} {ratio:>9} {r['peak_mb']:>7.0f}MB {r['base_mb']:>8.0f}MB"
                )
            verdicts.append(_verdict(db, rows, floor_rate))
        print()
        for line in verdicts:
            print(line)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.only is None:
        print()
        bad_records(args.bad_rows, args.bad_rounds)
    return 0


def _verdict(db: str, rows: dict[str, dict[str, Any]], floor_rate: float | None) -> str:
    adf, small, dlt = rows.get("adf", {}), rows.get("adf (1/10)", {}), rows.get("dlt", {})
    if "seconds" not in adf or not floor_rate:
        return f"{db}: adf or the floor failed"
    rate = adf["rows"] / adf["seconds"]
    parts = [f"adf/floor {rate / floor_rate:.2f} (target >= 0.8)"]
    if "seconds" in dlt:
        parts.append(f"adf/dlt {rate / (dlt['rows'] / dlt['seconds']):.1f}x (target > 1)")
    if "peak_mb" in small:
        parts.append(
            f"peak RSS {small['peak_mb']:.0f}MB at 1/10 vs {adf['peak_mb']:.0f}MB "
            f"(flat: {adf['peak_mb'] <= small['peak_mb'] * 1.2 + 10})"
        )
    return f"{db}: " + ", ".join(parts)


# ------------------------------------------------------------------------------ bad records
def write_bad_input(path: Path, rows: int, bad: float, values_only: bool = False) -> None:
    """``rows`` lines (JSONL or CSV by the extension), one in ``1/bad`` of them broken; with
    ``values_only`` a bad JSON line parses but its `paid` is ``"yes"`` (no BOOLEAN takes it)."""
    every = round(1 / bad) if bad else 0
    csv = path.suffix == ".csv"
    names = ("id", "customer", "country", "amount", "status", "paid")
    with open(path, "w") as out:
        if csv:
            out.write(",".join(names) + "\n")
        for i in range(rows):
            broken = every and i % every == every - 1
            values = (i, f"customer {i % 50_000}", ("DE", "FR", "GB", "US", "PL")[i % 5],
                      round((i % 100_000) / 7, 2), ("paid", "open", "refunded")[i % 3],
                      i % 2 == 0)
            if csv:
                out.write(",".join(map(str, values)) + (",extra\n" if broken else "\n"))
            elif broken and not values_only:
                out.write(f'{{"id": {i}, "customer": "c", "amount": oops}}\n')
            else:
                record = dict(zip(names, values, strict=True))
                if broken:
                    record["paid"] = "yes"
                out.write(json.dumps(record) + "\n")


def bad_records_run(source: Path, dest: str, workdir: Path, on_error: str
                    ) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, records written) of one in-process run
    of `file | file` or `file | db`."""
    import gc

    from adf_core import DataFlow

    dead = workdir / "dead.jsonl" if on_error == "dead_letter" else None
    if dest == "file":
        target: dict[str, Any] = {"path": str(workdir / "out.jsonl"), "fsync": False}
    else:
        db = workdir / "out.db"
        db.unlink(missing_ok=True)
        target = {"url": f"sqlite:///{db}", "table": "orders", "mode": "replace"}
    flow = DataFlow.parse(f"src=file | out={dest}", options={"src": {"path": str(source)},
                                                              "out": target},
                          on_error=on_error, dead_letter=dead)
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    result = flow.run({})
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, result.records["out"].records_out


def bad_records(rows: int, rounds: int, bad: float = 0.01) -> None:
    """Clean vs 1% bad lines under dead_letter, for JSONL -> file, CSV -> db (SQLite), and
    JSONL -> db where 1% of the records hold a value the table cannot take."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import median, table

    workdir = Path(tempfile.mkdtemp(prefix="adf-bench-bad-"))
    try:
        cases = []
        for kind, dest in (("jsonl", "file"), ("csv", "db"), ("values", "db")):
            suffix = "jsonl" if kind == "values" else kind
            clean = workdir / f"clean.{suffix}"
            dirty = workdir / f"bad-{kind}.{suffix}"
            write_bad_input(clean, rows, 0)
            write_bad_input(dirty, rows, bad, values_only=kind == "values")
            kind = "jsonl (bad values)" if kind == "values" else kind
            cases += [(f"{kind} -> {dest}", "clean, on_error=fail", clean, dest, "fail"),
                      (f"{kind} -> {dest}", "clean, on_error=dead_letter", clean, dest,
                       "dead_letter"),
                      (f"{kind} -> {dest}", "1% bad, on_error=dead_letter", dirty, dest,
                       "dead_letter")]
        print(f"bad records: {rows:,} lines per run, {rounds} interleaved rounds ...", flush=True)
        for _flow, _name, source, dest, on_error in cases:  # warm-up
            bad_records_run(source, dest, workdir, on_error)
        times: dict[int, list[float]] = {i: [] for i in range(len(cases))}
        cpus: dict[int, list[float]] = {i: [] for i in range(len(cases))}
        written: dict[int, int] = {}
        for _ in range(rounds):
            for i, (_flow, _name, source, dest, on_error) in enumerate(cases):
                seconds, cpu, written[i] = bad_records_run(source, dest, workdir, on_error)
                times[i].append(seconds)
                cpus[i].append(cpu)
        lines, verdicts = [], []
        for i, (flow, name, _source, _dest, _on_error) in enumerate(cases):
            clean = i - i % 3
            rate = rows / median(times[i])
            ratio = median(times[clean]) / median(times[i])
            cpu_ratio = median(cpus[clean]) / median(cpus[i])
            lines.append([flow, name, f"{rows:,}", f"{written[i]:,}", f"{median(times[i]):.3f}",
                          f"{rate:,.0f}", f"{ratio:.2f}x", f"{median(cpus[i]):.3f}",
                          f"{cpu_ratio:.2f}x"])
            if i % 3 == 2:
                verdicts.append(f"{flow}: 1% bad under dead_letter at {ratio:.2f}x the clean "
                                f"run's rows/s, {cpu_ratio:.2f}x by CPU time (target >= 0.90x)")
        print(table(["flow", "case", "lines", "written", "seconds", "rows/s", "vs clean",
                     "CPU s", "vs clean (CPU)"], lines))
        print(f"({round(rows * bad):,} dead letters per bad run; median of {rounds} interleaved "
              "rounds; on a shared, loaded machine the CPU-time ratio is the steadier one)")
        for line in verdicts:
            print(line)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------------------ files (Arrow)
# `file (csv) | file (parquet)` against pyarrow's CSV reader and a streaming ParquetWriter by
# hand, and `file | filter | file` against the plain copy: the columnar path of DESIGN 13.
# Each case runs `repeats` times, alternating, in this process; the table shows medians.

def write_orders_csv(path: Path, rows: int) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "customer", "country", "amount", "status", "created_at"])
        writer.writerows(map(_row, range(1, rows + 1)))


def csv_to_parquet_by_hand(source: Path, out: Path) -> None:
    """What one would write with pyarrow alone: stream CSV blocks into a ParquetWriter."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    reader = pcsv.open_csv(source)
    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def adf_file_flow(expression: str, source: Path, out: Path, where: str | None = None,
                  batch_size: int = 1000, batch_format: str | None = None) -> None:
    from adf_core import DataFlow

    options: dict[str, dict[str, Any]] = {"src": {"path": str(source), "batch_size": batch_size},
                                          "dst": {"path": str(out), "fsync": False}}
    if where:
        options["filter"] = {"where": where}
    DataFlow.parse(expression, options=options, batch_format=batch_format).run({})


def write_orders_jsonl(path: Path, rows: int, missing_every: int = 0) -> None:
    """The orders as JSON lines, written by adf's dict writer; with ``missing_every`` every
    so many lines lack the ``status`` key (which keeps a chunk out of Arrow)."""
    from adf_core.data.encoding import dumps

    names = ("id", "customer", "country", "amount", "status", "created_at")
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(1, rows + 1):
            record = dict(zip(names, _row(i), strict=True))
            if missing_every and i % missing_every == 0:
                del record["status"]
            handle.write(dumps(record) + "\n")


def jsonl_to_parquet_by_hand(source: Path, out: Path) -> None:
    """pyarrow alone: stream JSON blocks into a ParquetWriter (its own inference: the
    timestamps-looking text is a timestamp there, text in adf)."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    reader = pj.open_json(source)
    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def jsonl_cases(source: Path, missing: Path, workdir: Path) -> dict[str, Any]:
    flow = "src=file | dst=file"
    return {
        "pyarrow.json by hand": lambda: jsonl_to_parquet_by_hand(source, workdir / "hj.parquet"),
        "adf arrow -> parquet": lambda: adf_file_flow(flow, source, workdir / "aj.parquet",
                                                      batch_format="arrow"),
        "adf records -> parquet": lambda: adf_file_flow(flow, source, workdir / "rj.parquet",
                                                        batch_format="records"),
        "adf arrow -> jsonl": lambda: adf_file_flow(flow, source, workdir / "aj.jsonl",
                                                    batch_format="arrow"),
        "adf records -> jsonl": lambda: adf_file_flow(flow, source, workdir / "rj.jsonl",
                                                      batch_format="records"),
        "adf arrow 1% no key -> parquet": lambda: adf_file_flow(
            flow, missing, workdir / "am.parquet", batch_format="arrow"),
        "adf records 1% no key -> parquet": lambda: adf_file_flow(
            flow, missing, workdir / "rm.parquet", batch_format="records"),
    }


def _medians(cases: dict[str, Any], repeats: int) -> dict[str, float]:
    """Medians of ``repeats`` alternating runs of each case (after one warm-up run each)."""
    import statistics

    times: dict[str, list[float]] = {name: [] for name in cases}
    for case in cases.values():  # warm up: imports and the page cache are not measured
        case()
    for _ in range(repeats):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def jsonl_table(rows: int, repeats: int, workdir: Path) -> None:
    """jsonl -> parquet and jsonl -> jsonl, Arrow against records and pyarrow.json by hand."""
    source, missing = workdir / "orders.jsonl", workdir / "orders-missing.jsonl"
    print(f"writing {rows:,} rows of JSON lines ...", flush=True)
    write_orders_jsonl(source, rows)
    write_orders_jsonl(missing, rows, missing_every=100)
    medians = _medians(jsonl_cases(source, missing, workdir), repeats)
    hand = medians["pyarrow.json by hand"]
    anchors = {"pyarrow.json by hand": None,
               "adf arrow -> parquet": "adf records -> parquet",
               "adf records -> parquet": None,
               "adf arrow -> jsonl": "adf records -> jsonl",
               "adf records -> jsonl": None,
               "adf arrow 1% no key -> parquet": "adf records 1% no key -> parquet",
               "adf records 1% no key -> parquet": None}
    header = f"{'jsonl':<34} {'median s':>9} {'rows/s':>12} {'vs records':>11} {'vs hand':>8}"
    print()
    print(header)
    print("-" * len(header))
    for name, seconds in medians.items():
        anchor = anchors[name]
        versus = f"{medians[anchor] / seconds:.2f}x" if anchor else "1.00x" if \
            "records" in name else ""
        print(f"{name:<34} {seconds:>9.3f} {rows / seconds:>12,.0f} {versus:>11} "
              f"{hand / seconds:>7.2f}x")
    print()
    print("vs records: the records run's time / this one's (> 1 is faster); vs hand: "
          "pyarrow.json's time / this one's")


def file_cases(source: Path, workdir: Path) -> dict[str, Any]:
    where = "amount > 100 and status != 'refunded'"
    return {
        "pyarrow by hand": lambda: csv_to_parquet_by_hand(source, workdir / "hand.parquet"),
        "adf file | file": lambda: adf_file_flow("src=file | dst=file", source,
                                                 workdir / "adf.parquet"),
        "adf file | filter | file": lambda: adf_file_flow(
            "src=file | filter | dst=file", source, workdir / "filtered.parquet", where),
        # the same with Arrow-sized batches (the default batch_size is 1000 records)
        "adf file | file (64k)": lambda: adf_file_flow(
            "src=file | dst=file", source, workdir / "adf64k.parquet", batch_size=65536),
        "adf file | filter | file (64k)": lambda: adf_file_flow(
            "src=file | filter | dst=file", source, workdir / "filtered64k.parquet", where,
            batch_size=65536),
    }


def main_files(rows: int, repeats: int, jsonl_only: bool = False) -> int:
    """The file rows of the benchmark (`--files`): medians of `repeats` alternating runs."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        print("pyarrow is not installed (pip install 'adf-core[arrow]')")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="adf-bench-files-"))
    if jsonl_only:
        try:
            jsonl_table(rows, repeats, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    try:
        source = workdir / "orders.csv"
        print(f"writing {rows:,} rows of CSV ...", flush=True)
        write_orders_csv(source, rows)
        medians = _medians(file_cases(source, workdir), repeats)
        hand, copy = medians["pyarrow by hand"], medians["adf file | file"]
        header = f"{'csv -> parquet':<32} {'median s':>9} {'rows/s':>12} {'ratio':>16}"
        print()
        print(header)
        print("-" * len(header))
        copy64 = medians["adf file | file (64k)"]
        ratios = {"pyarrow by hand": "1.00x (anchor)",
                  "adf file | file": f"{hand / copy:.2f}x vs hand",
                  "adf file | filter | file": f"{copy / medians['adf file | filter | file']:.2f}x"
                                              " vs copy",
                  "adf file | file (64k)": f"{hand / copy64:.2f}x vs hand",
                  "adf file | filter | file (64k)":
                      f"{copy64 / medians['adf file | filter | file (64k)']:.2f}x vs copy"}
        for name, seconds in medians.items():
            print(f"{name:<32} {seconds:>9.3f} {rows / seconds:>12,.0f} {ratios[name]:>16}")
        print()
        print(f"adf file | file / by hand: {hand / copy:.2f}x (target >= 1.0); "
              f"filter / copy: {copy / medians['adf file | filter | file']:.2f}x "
              "(target >= 0.8)")
        print()
        jsonl_table(rows, repeats, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
