from django.urls import path

from hotline.planning import views

app_name = "planning"

urlpatterns = [
    path("", views.home, name="home"),
    path("import/", views.import_stats, name="import"),
    path("queues/", views.queue_create, name="queue-create"),
    path("queues/<slug:code>/targets/", views.target_edit, name="target"),
    path("templates/standard/", views.standard_templates, name="standard-templates"),
    path("schedules/", views.schedule_create, name="schedule-create"),
    path("schedules/<int:pk>/", views.schedule_detail, name="schedule"),
    path("schedules/<int:pk>/edit/", views.schedule_edit, name="schedule-edit"),
    path("schedules/<int:pk>/resolve/", views.schedule_resolve, name="schedule-resolve"),
    path("schedules/<int:pk>/assign/", views.schedule_assign, name="schedule-assign"),
    path("schedules/<int:pk>/publish/", views.schedule_publish, name="schedule-publish"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("what-if/", views.whatif, name="whatif"),
    path("what-if/<int:pk>/", views.whatif_run, name="whatif-run"),
    path("forecast/", views.forecast, name="forecast"),
]
