"""Request and response shapes of the JSON API (the published OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

ObjectId = Annotated[int, Field(ge=1, le=10**18)]


class StrictIn(Schema):
    """Input bodies reject unknown keys, so a typo is a 400, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Schema):
    code: str
    message: str
    node: str | None = None
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorDetail


class MeOut(Schema):
    id: int
    username: str


class DocumentIn(StrictIn):
    document: Any


class LayerIn(StrictIn):
    name: str = Field(max_length=100)
    document: Any


class LayerSummaryOut(Schema):
    id: int
    name: str
    mode: str
    formula: str
    canonical_hash: str
    version: int
    updated_at: datetime


class LayerDetailOut(LayerSummaryOut):
    document: Any
    created_at: datetime


class LayerSavedOut(LayerDetailOut):
    # True when the save changed only the layout (``ui``): the newest version took
    # the new layout and no version was added.
    layout_only: bool = False


class LayerPageOut(Schema):
    count: int
    items: list[LayerSummaryOut]


class VersionChange(Schema):
    kind: str  # node_added, node_removed, op_changed, inputs_changed, params_changed, output_changed, renamed, setting_changed
    node: str | None = None
    text: str


class VersionChangesOut(Schema):
    from_version: int | None  # None for the first version
    same_function: bool  # same canonical hash as from_version
    items: list[VersionChange]


class LayerVersionOut(Schema):
    version: int
    name: str
    canonical_hash: str
    formula: str
    mode: str
    created_at: datetime
    changes: VersionChangesOut


class LayerVersionDetailOut(LayerVersionOut):
    document: Any


class ValidateOut(Schema):
    valid: bool
    error: ErrorDetail | None
    formula: str | None
    mode: str | None
    canonical_hash: str | None
    live_nodes: list[str]
    warnings: list[ErrorDetail] = []


class TokenIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)


class TokenObtainIn(StrictIn):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=4096)
    name: str = Field(min_length=1, max_length=100)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class TokenCreatedOut(TokenOut):
    secret: str


class SearchIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    preset: str = Field(min_length=1, max_length=40)
    overrides: dict[str, Any] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**62)
    seed_layer_ids: list[ObjectId] = Field(default_factory=list, max_length=100)
    seed_references: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=100)


class EstimateIn(StrictIn):
    preset: str = Field(min_length=1, max_length=40)
    overrides: dict[str, Any] | None = None


class EvalWorkerOut(Schema):
    name: str
    slots: int


class CapacityOut(Schema):
    slots: int = Field(description="evaluations the lab's workers run at once, over every eval worker online")
    workers: list[EvalWorkerOut]


class CostOut(Schema):
    seconds: float | None = Field(description="mean wall seconds per budget slot on this lab's workers: "
                                  "a candidate that reached training plus its share of the unstable ones")
    evaluated_seconds: float | None = Field(description="median for a candidate trained to the end")
    kind: Literal["exact", "scaled", "none"] = Field(
        description="exact: measured with these evaluation settings; scaled: with the same data, anchors "
                    "and sizes but another number of steps, scaled by the steps; none: no measurement yet")
    candidates: int = Field(description="finished candidates the figure comes from")
    steps_from: int | None = Field(description="for a scaled cost, the steps it was measured at")


class EstimateOut(Schema):
    capacity: CapacityOut
    parallel: int = Field(description="candidates the search keeps in flight (its config)")
    at_once: int = Field(description="candidates that will really train at once: min(parallel, capacity)")
    budget: int = Field(description="candidates that reach training")
    cost: CostOut
    evolution_seconds: float | None
    rerank_seconds: float | None
    total_seconds: float | None


class ControlIn(StrictIn):
    action: Literal["pause", "resume", "stop"]


class CloneIn(StrictIn):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    budget: int | None = Field(default=None, ge=1, le=1_000_000)


class EventOut(Schema):
    seq: int
    type: str
    payload: dict[str, Any]
    created_at: datetime | str


class EventsOut(Schema):
    events: list[EventOut]
    last_seq: int
