"""What each metric of the reports is called and how it reads, and the
events the monthly score deducts for (C4g): shared by the report, the
score and the admin's choices."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# What each metric is and how it reads: a share (shown in percent), a count,
# seconds, or complaints per million customers.
SHARE, COUNT, SECONDS, PER_MILLION = "share", "count", "seconds", "per_million"
LABELS = {
    "offered": (_("Offered calls"), COUNT),
    "answered": (_("Answered calls"), COUNT),
    "answer_rate": (_("Answer rate"), SHARE),
    "service_level": (_("Service level (20 s)"), SHARE),
    "abandon_rate": (_("Abandon rate"), SHARE),
    "asa_s": (_("Average speed of answer"), SECONDS),
    "aht_s": (_("Average handle time"), SECONDS),
    "ring_pass_rate": (_("Ring-time pass rate"), SHARE),
    "satisfaction": (_("Satisfaction"), SHARE),
    "avg_inquiry_talk_s": (_("Average inquiry time"), SECONDS),
    "orders_accepted": (_("Orders accepted"), COUNT),
    "complaints_per_million_customers": (_("Complaints per million customers"), PER_MILLION),
    "callback_rate": (_("Callback rate"), SHARE),
    "complaint_timeliness": (_("Complaint timeliness"), SHARE),
    "supervision_rate": (_("Supervision rate"), SHARE),
    "work_order_correctness": (_("Work-order correctness"), SHARE),
    "outage_publication_timeliness": (_("Outage-publication timeliness"), SHARE),
    "dispatch_accuracy": (_("Dispatch accuracy"), SHARE),
    "first_call_answer_rate": (_("First-call answer rate (inquiries)"), SHARE),
    "complaints_per_answered_call": (_("Complaints per answered call"), SHARE),
    "restoration_within_commitment": (_("Restoration within commitment"), SHARE),
    "repeat_request_rate": (_("Repeat requests (month to date)"), SHARE),
    "omission_rate": (_("Omission rate"), SHARE),
}

# Events the monthly score may deduct points for, each counted in the month.
EVENTS = {
    "ring_over_limit": _("Answered call that rang longer than the limit (C3g)"),
    "callback_missed": _("Callback not made in its limit (C3k)"),
    "complaint_late": _("Complaint not replied in its limit (C3l)"),
    "overdue_unsupervised": _("Overdue order without a supervision notice (C3m)"),
    "outage_late": _("Outage notice not published in time (C3o)"),
    "omission": _("Service request left unhandled (C3y)"),
}
