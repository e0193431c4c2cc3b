"""URL map: the JSON API, account pages, the admin and the single-page app's routes."""

from django.contrib import admin
from django.urls import path, re_path

from webapp import views
from webapp.api import api

urlpatterns = [
    path("api/", api.urls),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LabLoginView.as_view(), name="login"),
    path("accounts/logout/", views.LabLogoutView.as_view(), name="logout"),
    path("", views.spa, name="spa"),
    re_path(
        r"^(?:layers|editor|searches|candidates)(?:/.*)?$",
        views.spa,
        name="spa-route",
    ),
]
