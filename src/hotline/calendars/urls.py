from django.urls import path

from hotline.calendars import views

app_name = "calendars"

urlpatterns = [
    path("", views.years, name="years"),
    path("<int:year>/notice/", views.notice, name="notice"),
]
