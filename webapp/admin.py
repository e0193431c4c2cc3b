"""The Django admin shows every model of the lab."""

from __future__ import annotations

from django.contrib import admin

from webapp.forms import ThrottledAdminAuthenticationForm
from webapp.models import (
    ApiToken,
    Candidate,
    Event,
    Layer,
    LayerVersion,
    RerankJob,
    Search,
    UserQuota,
)

# The admin's sign-in says so when it is throttled (the limit itself is in the backend).
admin.site.login_form = ThrottledAdminAuthenticationForm


class LayerVersionInline(admin.TabularInline):
    model = LayerVersion
    extra = 0
    fields = ("version", "name", "canonical_hash", "formula", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "mode", "version", "formula", "updated_at")
    list_filter = ("mode",)
    search_fields = ("name", "canonical_hash", "owner__username")
    raw_id_fields = ("owner",)
    inlines = [LayerVersionInline]


@admin.register(LayerVersion)
class LayerVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "layer", "version", "name", "mode", "created_at")
    search_fields = ("name", "canonical_hash")
    raw_id_fields = ("layer",)


@admin.register(Search)
class SearchAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "status", "stage", "preset", "proposed", "last_seq", "created_at")
    list_filter = ("status", "stage", "preset")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner", "cloned_from", "best_candidate")


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ("id", "search", "status", "rejection_reason", "mean_score", "mutation", "attempts",
                    "worker", "last_heartbeat", "created_at")
    list_filter = ("status", "rejection_reason", "mutation")
    search_fields = ("canonical_hash", "formula")
    raw_id_fields = ("search", "parent")
    list_select_related = ("search",)
    show_full_result_count = False  # cheap on searches of 100,000 candidates


@admin.register(RerankJob)
class RerankJobAdmin(admin.ModelAdmin):
    list_display = ("id", "search", "candidate", "status", "mean_score", "attempts", "worker", "finished_at")
    list_filter = ("status",)
    raw_id_fields = ("search", "candidate")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "search", "seq", "type", "created_at")
    list_filter = ("type",)
    raw_id_fields = ("search",)
    show_full_result_count = False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "name", "prefix", "created_at", "last_used_at")
    readonly_fields = ("key_hash", "prefix")
    raw_id_fields = ("user",)


@admin.register(UserQuota)
class UserQuotaAdmin(admin.ModelAdmin):
    list_display = ("user", "max_searches", "max_in_flight")
    raw_id_fields = ("user",)
