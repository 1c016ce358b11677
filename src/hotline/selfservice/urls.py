from django.urls import path

from hotline.selfservice import views

app_name = "selfservice"

urlpatterns = [
    path("", views.index, name="index"),
    path("outages/", views.outages, name="outages"),
    path("orders/", views.order, name="order"),
]
