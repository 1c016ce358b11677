from django.urls import path

from hotline.workorders import views

app_name = "workorders"

# Mounted at the site root: the paths are those the pages always had.
urlpatterns = [
    path("intake/", views.intake, name="intake"),
    path("intake/customers/", views.intake_customers, name="intake-customers"),
    path("intake/customers/<int:customer_id>/", views.intake_customer, name="intake-customer"),
    path("intake/customers/clear/", views.intake_customer_clear, name="intake-customer-clear"),
    path("intake/type-fields/", views.intake_type_fields, name="intake-type-fields"),
    path("intake/area/", views.intake_area, name="intake-area"),
    path("intake/check/", views.intake_check_view, name="intake-check"),
    path("intake/duplicates/", views.intake_duplicates, name="intake-duplicates"),
    path("intake/areas/", views.intake_areas, name="intake-areas"),
    path("orders/", views.my_orders, name="my-orders"),
    path("orders/search/", views.order_search, name="search"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/act/", views.order_act, name="order-act"),
    path("orders/<str:number>/chase-up/", views.order_chase, name="order-chase"),
    path("orders/<str:number>/reporter/", views.order_reporter, name="order-reporter"),
    path("orders/<str:number>/remind/", views.order_remind, name="order-remind"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<str:number>/act/", views.inbox_act, name="inbox-act"),
    path("inbox/notices/<int:notice_id>/answer/", views.notice_answer, name="notice-answer"),
    path("board/", views.board, name="board"),
    path("board/<str:number>/act/", views.board_act, name="board-act"),
]
