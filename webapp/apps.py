"""The layer lab's Django app."""

from django.apps import AppConfig


class WebappConfig(AppConfig):
    name = "webapp"
    verbose_name = "Layer lab"
    default_auto_field = "django.db.models.BigAutoField"
