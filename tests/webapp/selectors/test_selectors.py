"""Selectors: the Pareto front against brute force, lineage through the recursive query, orderings."""

from __future__ import annotations

import random

import pytest

from tests.webapp.helpers import make_search, queued_ids, result, run_one
from webapp.errors import NotFound
from webapp.models import Candidate
from webapp.selectors.candidates import ORDERINGS, candidate_get, candidate_lineage, candidate_list
from webapp.selectors.searches import _front, search_detail, search_get, search_pareto

pytestmark = pytest.mark.django_db


def brute_force_front(points):
    def dominates(a, b):
        return all(x >= y for x, y in zip(a, b, strict=True)) and a != b

    return {pid for pid, v in points if not any(dominates(w, v) for _, w in points)}


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_front_matches_brute_force(dims):
    rng = random.Random(dims)
    for _ in range(50):
        points = [(i, tuple(rng.choice([0.1, 0.2, 0.3, 0.5]) for _ in range(dims))) for i in range(rng.randint(1, 40))]
        assert set(_front(points)) == brute_force_front(points)


def _candidate(search, i, *, parent=None, scores=None, status="evaluated"):
    scores = scores or {}
    return Candidate.objects.create(
        search=search, canonical_hash=f"h{i}", document={}, mode="B", mutation="op", parent=parent,
        status=status, scores=scores, mean_score=(sum(scores.values()) / len(scores)) if scores else None)


def test_pareto_over_chosen_axes(user):
    search = make_search(user)
    archs = search.config["eval"]["architectures"]
    assert len(archs) >= 2
    x, y = archs[0], archs[1]
    rest = {a: 0.0 for a in archs[2:]}
    a = _candidate(search, 1, scores={x: 0.9, y: 0.1, **rest})
    b = _candidate(search, 2, scores={x: 0.1, y: 0.9, **rest})
    c = _candidate(search, 3, scores={x: 0.5, y: 0.5, **rest})
    d = _candidate(search, 4, scores={x: 0.05, y: 0.05, **rest})
    full = search_pareto(search=search)
    assert set(full["front"]) == {a.pk, b.pk, c.pk} and len(full["points"]) == 4
    only_x = search_pareto(search=search, x=x)
    assert only_x["front"] == [a.pk] and only_x["axes"] == [x]
    two = search_pareto(search=search, x=x, y=y)
    assert set(two["front"]) == {a.pk, b.pk, c.pk} and d.pk not in two["front"] and two["axes"] == [x, y]


def test_lineage_parent_first_up_to_root(user):
    search = make_search(user)
    chain = [_candidate(search, 0)]
    for i in range(1, 6):
        chain.append(_candidate(search, i, parent=chain[-1]))
    lineage = candidate_lineage(candidate=chain[-1])
    assert [c.pk for c in lineage] == [c.pk for c in reversed(chain[:-1])]
    assert candidate_lineage(candidate=chain[0]) == []


def test_orderings_and_ownership(user, other_user):
    search = make_search(user)
    for ordering in ORDERINGS:
        list(candidate_list(search_id=search.pk, ordering=ordering))
    cand = Candidate.objects.filter(search=search).first()
    with pytest.raises(NotFound):
        candidate_get(owner=other_user, candidate_id=cand.pk)
    with pytest.raises(NotFound):
        search_get(owner=other_user, search_id=search.pk)
    assert candidate_get(owner=user, candidate_id=cand.pk) == cand


def test_document_diff_names_each_kind_of_change():
    from webapp.selectors.layers import document_diff

    old = {"format": "layer-graph/1", "name": "a", "eps": 1e-5, "output": "b",
           "nodes": [{"id": "a", "op": "neg", "inputs": ["x"]},
                     {"id": "b", "op": "group_var", "inputs": ["a"], "params": {"groups": 32}},
                     {"id": "gone", "op": "abs", "inputs": ["x"]}],
           "ui": {"positions": {"a": [0, 0]}}}
    new = {"format": "layer-graph/1", "name": "b", "eps": 1e-3, "output": "c",
           "nodes": [{"id": "a", "op": "tanh", "inputs": ["v1"]},
                     {"id": "b", "op": "group_var", "inputs": ["a"], "params": {"groups": 8}},
                     {"id": "c", "op": "mul", "inputs": ["b", "x"]}],
           "ui": {"positions": {"a": [9, 9]}}}
    assert document_diff(old, new) == [
        {"kind": "node_added", "node": "c", "text": "added c = mul(b, x)"},
        {"kind": "node_removed", "node": "gone", "text": "removed gone = abs(x)"},
        {"kind": "op_changed", "node": "a", "text": "a: neg → tanh"},
        {"kind": "inputs_changed", "node": "a", "text": "a: inputs (x) → (v1)"},
        {"kind": "params_changed", "node": "b", "text": "b: groups=32 → groups=8"},
        {"kind": "output_changed", "node": "c", "text": "output b → c"},
        {"kind": "renamed", "node": None, "text": "renamed “a” → “b”"},
        {"kind": "setting_changed", "node": None, "text": "eps 1e-05 → 0.001"},
    ]
    assert document_diff(old, {**old, "ui": {}}) == []


def test_unstable_candidates_spend_no_budget_in_the_progress_figures(user):
    """The budget counts candidates that reach training: after one unstable and
    one evaluated candidate, 5 of 6 slots remain and the throughput counts one."""
    search = make_search(user, budget=6, parallel=2)
    first, second = queued_ids(search)[:2]
    run_one(first, result("rejected", reason="unstable"))
    run_one(second, result())
    search.refresh_from_db()
    detail = search_detail(search)
    assert detail["funnel"]["unstable"] == 1 and detail["funnel"]["evaluated"] == 1
    throughput = detail["throughput_per_minute"]
    assert throughput and detail["eta_seconds"] == pytest.approx(5 / throughput * 60)
    # the unstable candidate gave its slot back: the engine asked for a replacement
    assert len(queued_ids(search)) == 2
