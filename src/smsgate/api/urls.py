"""The API's views that live outside /api/v1: /metrics, at the site root where Prometheus looks."""

from django.urls import path

from smsgate.api.metrics import metrics_view

urlpatterns = [path("", metrics_view, name="metrics")]
