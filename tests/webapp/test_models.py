"""Model constraints the services rely on, and the indexes that keep 100,000-candidate searches fast."""

from __future__ import annotations

import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.webapp.helpers import make_search
from webapp.models import Candidate, Event, LayerVersion
from webapp.selectors.candidates import candidate_list
from webapp.selectors.events import events_after
from webapp.services.layers import layer_create

pytestmark = pytest.mark.django_db


def test_event_seq_unique_per_search(user):
    search = make_search(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(search=search, seq=1, type="x", payload={})


def test_candidate_hash_unique_per_search(user):
    search = make_search(user)
    existing = Candidate.objects.filter(search=search).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Candidate.objects.create(search=search, canonical_hash=existing.canonical_hash, document={}, mode="B",
                                 mutation="random")


def test_layer_version_unique(user, s0_doc):
    layer = layer_create(owner=user, name="l", document=s0_doc)
    with pytest.raises(IntegrityError), transaction.atomic():
        LayerVersion.objects.create(layer=layer, version=1, name="dup", document={}, canonical_hash="", mode="S")


def _index_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return set(constraints)


def test_indexes_exist():
    names = _index_names(Candidate._meta.db_table)
    assert {"cand_search_status", "cand_status_heartbeat", "cand_search_score", "cand_search_told",
            "candidate_search_hash_unique"} <= names
    assert "event_search_seq_unique" in _index_names(Event._meta.db_table)


@pytest.mark.slow
def test_queries_stay_fast_with_100k_candidates(user):
    """Pages, filters, known-hash lookups and event replay on a 100,000-candidate search."""
    search = make_search(user, budget=200_000)
    n = 100_000
    statuses = ["evaluated", "rejected", "failed", "evaluated", "evaluated"]
    now = timezone.now()
    cand_table, event_table = Candidate._meta.db_table, Event._meta.db_table
    # Multi-row INSERTs: building 100,000 model instances would dominate the test.
    cand_sql = (f"INSERT INTO {cand_table} (search_id, canonical_hash, document, formula, mode, mutation, status, "
                "rejection_reason, message, scores, mean_score, curves, timings, device, worker, attempts, told, "
                "created_at) VALUES ")
    cand_row = "(%s, %s, '{}', '', 'B', 'op', %s, %s, '', %s, %s, '{}', '{}', '', '', 1, %s, %s)"
    event_sql = f"INSERT INTO {event_table} (search_id, seq, type, payload, created_at) VALUES "
    event_row = "(%s, %s, 'x', '{}', %s)"
    batch = 1000
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # generated in the server: no 100,000 rows over the wire
            cursor.execute(
                cand_sql.replace(" VALUES ", " ") +
                "SELECT %s, lpad(to_hex(i), 64, '0'), '{}', '', 'B', 'op', "
                "(ARRAY['evaluated','rejected','failed','evaluated','evaluated'])[i %% 5 + 1], "
                "CASE WHEN i %% 5 = 1 THEN 'unstable' ELSE '' END, '', "
                "jsonb_build_object('a', (i %% 997) / 997.0), (i %% 997) / 997.0, '{}', '{}', '', '', 1, true, %s "
                "FROM generate_series(0, %s) AS i", [search.pk, now, n - 1])
            cursor.execute(event_sql.replace(" VALUES ", " ") + "SELECT %s, 1000 + i, 'x', '{}', %s "
                           "FROM generate_series(0, 19999) AS i", [search.pk, now])
        client_side = 0 if connection.vendor == "postgresql" else n
        for start in range(0, client_side, batch):
            ids = range(start, min(n, start + batch))
            params = [p for i in ids for p in (search.pk, f"{i:064x}", statuses[i % 5],
                                               "unstable" if i % 5 == 1 else "",
                                               f'{{"a": {(i % 997) / 997}}}', (i % 997) / 997, True, now)]
            cursor.execute(cand_sql + ", ".join([cand_row] * len(ids)), params)
            if start < 20_000:  # a long event log; its replay reads by (search, seq) either way
                params = [p for i in ids for p in (search.pk, 1000 + i, now)]
                cursor.execute(event_sql + ", ".join([event_row] * len(ids)), params)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Candidate._meta.db_table}")
            cursor.execute(f"ANALYZE {Event._meta.db_table}")

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    checks = {
        "top page by score": lambda: list(candidate_list(search_id=search.pk, ordering="-score")[:50]),
        "filtered page": lambda: list(candidate_list(search_id=search.pk, status="rejected",
                                                     rejection_reason="unstable", ordering="-score")[:50]),
        "late page": lambda: list(candidate_list(search_id=search.pk, ordering="created")[90_000:90_050]),
        "count by status": lambda: candidate_list(search_id=search.pk, status="evaluated").count(),
        "known hash": lambda: Candidate.objects.filter(search=search, canonical_hash=f"{77777:064x}").exists(),
        "untold": lambda: list(Candidate.objects.filter(search=search, told=False).exclude(
            status__in=["queued", "running"])[:10]),
        "stale heartbeats": lambda: list(Candidate.objects.filter(status="running",
                                                                  last_heartbeat__isnull=False)[:10]),
        "event replay": lambda: events_after(search_id=search.pk, after=15_000, limit=500),
    }
    assert Candidate.objects.filter(search=search).count() >= n
    slow = {name: round(t, 3) for name, fn in checks.items() if (t := min(timed(fn) for _ in range(3))) > 0.5}
    assert not slow, slow
