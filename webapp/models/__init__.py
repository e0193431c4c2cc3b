"""The lab's data: layers and their versions, searches, candidates, events, tokens."""

from webapp.models.candidates import Candidate, CandidateStatus
from webapp.models.events import Event
from webapp.models.layers import Layer, LayerVersion
from webapp.models.searches import RerankJob, RerankStatus, Search, SearchStage, SearchStatus
from webapp.models.tokens import ApiToken
from webapp.models.users import UserQuota

__all__ = [
    "ApiToken",
    "Candidate",
    "CandidateStatus",
    "Event",
    "Layer",
    "LayerVersion",
    "RerankJob",
    "RerankStatus",
    "Search",
    "SearchStage",
    "SearchStatus",
    "UserQuota",
]
