from django.urls import path

from hotline.calls import views_wallboard as wallboard

app_name = "calls"

urlpatterns = [
    # The wallboard (C4a, C4b): the chooser, a full-screen board per center (?queue= one queue), its live part.
    path("wallboard/", wallboard.index, name="wallboard-index"),
    path("wallboard/<int:center_id>/", wallboard.board, name="wallboard"),
    path("wallboard/<int:center_id>/live/", wallboard.live, name="wallboard-live"),
]
