"""Websocket routes."""

from django.urls import path

from webapp.consumers import SearchEventsConsumer

websocket_urlpatterns = [
    path("ws/searches/<int:search_id>/", SearchEventsConsumer.as_asgi()),
]
