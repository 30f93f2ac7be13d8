from django.contrib import admin
from django.urls import include, path

from smsgate.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("metrics", include("smsgate.api.urls")),
    path("", include("smsgate.web.urls")),
]
