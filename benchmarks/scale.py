"""Candidate and event queries on a 1,000- and a 100,000-candidate search, side by side.

    python -m benchmarks.scale                                                    # SQLite in a temp LAB_VAR_DIR
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m benchmarks.scale   # PostgreSQL

Both searches live in the same tables (as in production, where a big search
shares them with small ones). Each query runs on both, interleaved (one timing
of every query at each size in turn, then again) so drift in load hits all
alike; the median per call is reported. A ratio (100k / 1k) near 1 means the
query's cost does not grow with the search: the indexes keep it flat. The plan
column (EXPLAIN of the SQL the call ran on the 100k search) says what reads the
candidate/event table, so a flat ratio that comes from scanning the whole table
at both sizes is not mistaken for one. "late page" (OFFSET 90%) and "count by
status" read most of the search by nature: they are expected to grow.

The database is a throwaway: SQLite in a temporary LAB_VAR_DIR; on PostgreSQL
the database ``lab_bench_scale``, created and dropped through the one that
DATABASE_URL names (the maintenance database). The reaper's stale-heartbeat
query is not per search, so it has no 1k/100k pair and is left out here
(tests/webapp/test_models.py checks its plan). Needs no Redis or worker.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "lab_bench_scale"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", type=int, default=1_000, help="candidates of the small search (default 1,000)")
    p.add_argument("--large", type=int, default=100_000, help="candidates of the large search (default 100,000)")
    p.add_argument("--repeats", type=int, default=15, help="interleaved timings per query and size (default 15)")
    p.add_argument("--inner", type=int, default=3, help="calls per timing (default 3)")
    p.add_argument("--warmup", type=int, default=2)
    return p.parse_args(argv)


# --- the throwaway database ------------------------------------------------------------------------------------

def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _setup_database() -> Callable[[], None]:
    """Point the settings at a fresh database; returns what removes it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        var_dir = tempfile.mkdtemp(prefix="lab-bench-scale-")
        os.environ["LAB_VAR_DIR"] = var_dir
        return lambda: shutil.rmtree(var_dir, ignore_errors=True)
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL, got {parts.scheme!r}")
    maintenance = urlunsplit(parts._replace(scheme="postgresql"))
    _pg_admin(maintenance, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _pg_admin(maintenance, f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        _pg_admin(maintenance, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")

    return drop


# --- data ------------------------------------------------------------------------------------------------------

def _fill(search_id: int, n: int, events: int) -> None:
    """``n`` finished, told candidates (every 5th rejected as unstable) and ``events`` events (seq 1000 on)."""
    from django.db import connection
    from django.utils import timezone

    from webapp.models import Candidate, Event

    now = timezone.now()
    cand_table, event_table = Candidate._meta.db_table, Event._meta.db_table
    cand_sql = (f"INSERT INTO {cand_table} (search_id, canonical_hash, document, formula, mode, mutation, status, "
                "rejection_reason, message, scores, mean_score, curves, timings, device, worker, attempts, told, "
                "created_at, finished_at) ")
    event_sql = f"INSERT INTO {event_table} (search_id, seq, type, payload, created_at) "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                cand_sql + "SELECT %s, lpad(to_hex(i), 64, '0'), '{}', '', 'B', 'op', "
                "(ARRAY['evaluated','rejected','failed','evaluated','evaluated'])[i %% 5 + 1], "
                "CASE WHEN i %% 5 = 1 THEN 'unstable' ELSE '' END, '', "
                "jsonb_build_object('a', (i %% 997) / 997.0), (i %% 997) / 997.0, '{}', '{}', '', '', 1, true, %s, %s "
                "FROM generate_series(0, %s) AS i", [search_id, now, now, n - 1])
            cursor.execute(event_sql + "SELECT %s, 1000 + i, 'x', '{}', %s FROM generate_series(0, %s) AS i",
                           [search_id, now, events - 1])
            return
        statuses = ["evaluated", "rejected", "failed", "evaluated", "evaluated"]
        cand_row = "(%s, %s, '{}', '', 'B', 'op', %s, %s, '', %s, %s, '{}', '{}', '', '', 1, %s, %s, %s)"
        for start in range(0, n, 1000):
            ids = range(start, min(n, start + 1000))
            params = [p for i in ids for p in (search_id, f"{i:064x}", statuses[i % 5],
                                               "unstable" if i % 5 == 1 else "", f'{{"a": {(i % 997) / 997}}}',
                                               (i % 997) / 997, True, now, now)]
            cursor.execute(cand_sql + "VALUES " + ", ".join([cand_row] * len(ids)), params)
        for start in range(0, events, 1000):
            ids = range(start, min(events, start + 1000))
            params = [p for i in ids for p in (search_id, 1000 + i, now)]
            cursor.execute(event_sql + "VALUES " + ", ".join(["(%s, %s, 'x', '{}', %s)"] * len(ids)), params)


def _make_search(owner, n: int):
    from webapp.services import searches as search_svc

    return search_svc.search_create(owner=owner, name=f"scale {n}", preset="cpu-quick", seed=1, overrides={
        "budget": 2 * n, "parallel": 2, "population_size": 4, "tournament_size": 2, "rerank_top_k": 2,
        "rerank_keep": 1})


# --- queries ---------------------------------------------------------------------------------------------------

def _queries(search_id: int, n: int, events: int) -> dict[str, tuple[Callable[[], object], str]]:
    """name -> (the call the app makes, the table it should read through an index)."""
    from webapp.models import Candidate, Event
    from webapp.models.candidates import IN_FLIGHT_STATUSES
    from webapp.selectors.candidates import candidate_list
    from webapp.selectors.events import events_after

    cand, event = Candidate._meta.db_table, Event._meta.db_table
    top = candidate_list(search_id=search_id, ordering="-score")[:50]
    filtered = candidate_list(search_id=search_id, status="rejected", rejection_reason="unstable",
                              ordering="-score")[:50]
    late = candidate_list(search_id=search_id, ordering="created")[int(n * 0.9):int(n * 0.9) + 50]
    count = candidate_list(search_id=search_id, status="evaluated")
    known = Candidate.objects.filter(search_id=search_id, canonical_hash=f"{(n * 7) // 9:064x}")  # advance's is_known
    untold = (Candidate.objects.filter(search_id=search_id, told=False)  # advance's _tell_finished
              .exclude(status__in=IN_FLIGHT_STATUSES).order_by("finished_at", "id"))
    after = 1000 + events - 1000  # 500 of the last 1,000 events (seq starts at 1000), the same page at both sizes
    return {
        "top page by score": (lambda: list(top.all()), cand),
        "filtered page": (lambda: list(filtered.all()), cand),
        "late page (90%)": (lambda: list(late.all()), cand),
        "count by status": (lambda: count.count(), cand),
        "known hash": (lambda: known.exists(), cand),
        "untold": (lambda: list(untold.all()), cand),
        "event replay": (lambda: events_after(search_id=search_id, after=after, limit=500), event),
    }


def _plan(fn: Callable[[], object], table: str) -> str:
    """What reads ``table`` in the plan of the SQL that ``fn`` runs: index names, SCAN / Seq Scan, sorts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    sql = captured.captured_queries[-1]["sql"]  # with its parameters, quoted by the driver (psycopg / QUOTE())
    found = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]

            def nodes(node):
                yield node
                for child in node.get("Plans", []):
                    yield from nodes(child)

            for node in nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]):
                kind = node["Node Type"]
                if kind == "Seq Scan" and node.get("Relation Name") == table:
                    found.append("Seq Scan")
                elif kind == "Bitmap Index Scan" or (kind in ("Index Scan", "Index Only Scan")
                                                     and node.get("Relation Name") == table):
                    found.append(node["Index Name"])
                elif kind in ("Sort", "Incremental Sort"):
                    found.append(kind.lower())
            return "+".join(reversed(found)) or "?"
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        for *_ids, step in cursor.fetchall():
            if m := re.match(rf"(SCAN|SEARCH) {table}\b(?: USING (?:COVERING )?INDEX (\S+))?", step):
                found.append("SCAN" if m[1] == "SCAN" and not m[2] else (m[2] or "rowid"))
            elif "TEMP B-TREE" in step:
                found.append("sort(ties)" if "RIGHT PART" in step else "sort")
    return "+".join(found) or "?"


def _time(fn: Callable[[], object], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    drop = _setup_database()
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection

        from webapp.models import Candidate, Event
        from webapp.services import dispatch

        dispatch.sender = lambda name, args, queue: None  # no broker: nothing here runs the tasks
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}  # no Redis
        call_command("migrate", verbosity=0)
        owner = get_user_model().objects.create_user(username="bench", password="x")  # noqa: S106
        sizes = {"1k": args.small, "100k": args.large}
        events = {label: max(1000, n // 5) for label, n in sizes.items()}
        t0 = time.perf_counter()
        searches = {}
        for label, n in sizes.items():
            search = _make_search(owner, n)
            _fill(search.pk, n, events[label])
            searches[label] = search.pk
        if connection.vendor == "postgresql":  # what autovacuum does soon after a bulk load
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {Candidate._meta.db_table}")
                cursor.execute(f"VACUUM ANALYZE {Event._meta.db_table}")
        fill_s = time.perf_counter() - t0
        queries = {label: _queries(searches[label], sizes[label], events[label]) for label in sizes}
        names = list(queries["1k"])
        for _ in range(args.warmup):
            for name in names:
                for label in sizes:
                    queries[label][name][0]()
        samples: dict[tuple[str, str], list[float]] = {(name, label): [] for name in names for label in sizes}
        for _ in range(args.repeats):
            for name in names:
                for label in sizes:
                    samples[(name, label)].append(_time(queries[label][name][0], args.inner))

        db = (f"PostgreSQL {connection.pg_version // 10000}" if connection.vendor == "postgresql"
              else f"SQLite {connection.Database.sqlite_version}")
        print(f"# benchmarks.scale: {db}; searches of {sizes['1k']:,} and {sizes['100k']:,} candidates "
              f"({events['1k']:,} / {events['100k']:,} events) in the same tables; filled in {fill_s:.1f} s")
        print(f"# median of {args.repeats} interleaved timings of {args.inner} calls each; ms per call")
        print(f"{'query':<20} {'ms @1k':>9} {'ms @100k':>9} {'ratio':>7}  plan @100k")
        for name in names:
            small, large = (statistics.median(samples[(name, label)]) * 1000 for label in sizes)
            print(f"{name:<20} {small:>9.3f} {large:>9.3f} {large / small:>7.2f}  {_plan(*queries['100k'][name])}")
        return 0
    finally:
        drop()


if __name__ == "__main__":
    sys.exit(main())
