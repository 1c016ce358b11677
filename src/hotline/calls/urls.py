from django.urls import path

from hotline.calls import views_wallboard as wallboard
from hotline.calls.desk import views as desk
from hotline.calls.desk import wrapup

app_name = "calls"

urlpatterns = [
    # The agent desk (C2): state, screen pop, escalation.
    path("desk/", desk.desk, name="desk"),
    path("desk/live/", desk.live, name="desk-live"),
    path("desk/state/", desk.set_state, name="desk-state"),
    path("desk/transfer/", desk.transfer, name="desk-transfer"),
    # Answered calls that gave no order: marked as needing none, or linked to an existing order (C3y).
    path("desk/wrapup/", wrapup.wrapup, name="desk-wrapup"),
    # The wallboard (C4a, C4b): the chooser, a full-screen board per center (?queue= one queue), its live part.
    path("wallboard/", wallboard.index, name="wallboard-index"),
    path("wallboard/<int:center_id>/", wallboard.board, name="wallboard"),
    path("wallboard/<int:center_id>/live/", wallboard.live, name="wallboard-live"),
]
