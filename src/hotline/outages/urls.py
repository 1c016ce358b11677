from django.urls import path

from hotline.outages import views

app_name = "outages"

urlpatterns = [
    path("", views.outage_list, name="list"),
    path("new/", views.outage_new, name="new"),
    path("import/", views.outage_import, name="import"),
    path("<str:number>/", views.outage_detail, name="detail"),
    path("<str:number>/revise/", views.outage_revise, name="revise"),
    path("<str:number>/<slug:action>/", views.outage_act, name="act"),
]
