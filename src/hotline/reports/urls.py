from django.urls import path

from hotline.reports import views

app_name = "reports"

urlpatterns = [
    # The daily operations report (C4c–C4e): the page, and the same as xlsx and PDF.
    path("daily/", views.daily, name="daily"),
    path("daily/xlsx/", views.daily_xlsx, name="daily-xlsx"),
    path("daily/pdf/", views.daily_pdf, name="daily-pdf"),
    # The monthly center score out of 100 (C4g).
    path("score/", views.score, name="score"),
]
