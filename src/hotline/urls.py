from django.contrib import admin
from django.urls import include, path

from hotline.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("planning/", include("hotline.planning.urls")),
    path("calendars/", include("hotline.calendars.urls")),
    path("outages/", include("hotline.outages.urls")),
    path("calls/", include("hotline.calls.urls")),
    path("reports/", include("hotline.reports.urls")),
    path("self-service/", include("hotline.selfservice.urls")),
    path("", include("hotline.workorders.urls")),
    path("", include("hotline.web.urls")),
]
