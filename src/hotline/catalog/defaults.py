"""The national practice (spec domain.md §1) as default data.

Installed once into an empty database; afterwards it is the administrator's
to edit. Each number here is a default of a configurable policy.
"""

from __future__ import annotations

from hotline.catalog.lifecycle import standard_lifecycle

U, D = "unit", "center"

# code, name, prefix, priorities, routing, routing_function, callback, mergeable, restricted, lifecycle options, sub-classes
TYPES = [
    ("repair", "故障报修", "GZ", [["urgent", "紧急"], ["normal", "一般"]], "area", "", "always", True, False,
     dict(on_site=True),
     [("hv", "高压故障"), ("lv", "低压故障"), ("quality", "电能质量故障"), ("metering", "计量故障"),
      ("non_power", "非电力故障"), ("customer_internal", "客户内部故障"), ("charging", "充电设施故障")]),
    ("complaint", "投诉", "TS", [["special", "特殊"], ["major", "重大"], ["important", "重要"], ["normal", "一般"]],
     "function", "marketing", "always", False, False, dict(on_site=False),
     [("service", "服务"), ("business", "营业"), ("outage", "停送电"), ("quality", "供电质量"), ("construction", "电网建设"),
      ("conduct", "行风")]),
    ("report", "举报", "JB", [], "function", "discipline", "if_wanted", False, True, dict(on_site=False),
     [("conduct", "行风问题"), ("theft", "窃电"), ("violation", "违约用电"), ("damage", "破坏电力设施"), ("stealing", "盗窃电力设施")]),
    ("opinion", "意见", "YJ", [], "function", "marketing", "if_wanted", False, False, dict(on_site=False),
     [("connection", "业扩及变更用电"), ("metering", "电能计量"), ("billing", "抄表催费"), ("repair_quality", "抢修质量"),
      ("frequent_outage", "多次停电")]),
    ("suggestion", "建议", "JY", [], "function", "marketing", "if_wanted", False, False, dict(on_site=False),
     [("connection", "业扩及变更用电"), ("metering", "电能计量"), ("billing", "抄表催费"), ("service", "供电服务")]),
    ("praise", "表扬", "BY", [], "function", "marketing", "always", False, False, dict(on_site=False),
     [("service", "供电服务"), ("construction", "电网建设"), ("conduct", "行风建设")]),
    # Answered on the call, an inquiry closes at once ("answer"); one that goes
    # to a department is called back (spec D1f: "if not answered on the call").
    ("inquiry", "咨询", "ZX", [], "function", "marketing", "always", False, False, dict(on_site=False, answer_on_call=True),
     [("bill", "电费账单"), ("payment", "缴费"), ("tariff", "电价"), ("policy", "政策"), ("progress", "工单进度"), ("outage", "停电信息")]),
    ("service_request", "服务申请", "FW", [], "function", "marketing", "always", False, False, dict(on_site=True),
     [("reconnection", "欠费复电"), ("appliance_damage", "电器损坏核损"), ("meter_abnormal", "电能表异常"),
      ("reading_abnormal", "抄表数据异常"), ("meter_test", "校验电表"), ("new_connection", "新装增容 / 业扩报装"),
      ("usage_change", "用电变更")]),
    ("chase_up", "催办", "CB", [], "area", "", "never", False, False, dict(on_site=False), []),
]

# Sub-classes routed elsewhere than their type.
SUBCLASS_ROUTING = {("complaint", "conduct"): "discipline", ("service_request", "meter_test"): "metering",
                    ("service_request", "meter_abnormal"): "metering"}

# (type, sub_class code or "", priority, area_class, metric, amount, unit, start_on, stop_on, responsible, repeat)
RULES = [
    ("repair", "", "", "", "dispatch", 5, "minutes", "create", "dispatch,merge,cancel", D, False),
    ("repair", "", "", "", "accept", 3, "minutes", "dispatch", "receive,return,cancel,merge", U, False),
    ("repair", "", "", "", "redispatch", 3, "minutes", "return", "redispatch,cancel,merge", D, True),
    ("repair", "", "", "urban", "arrival", 45, "minutes", "dispatch", "arrive,cancel,merge", U, False),
    ("repair", "", "", "rural", "arrival", 90, "minutes", "dispatch", "arrive,cancel,merge", U, False),
    ("repair", "", "", "remote", "arrival", 120, "minutes", "dispatch", "arrive,cancel,merge", U, False),
    ("repair", "", "", "", "arrival", 90, "minutes", "dispatch", "arrive,cancel,merge", U, False),
    ("repair", "", "", "urban", "restoration", 3, "hours", "create", "resolve,cancel,merge", U, False),
    ("repair", "", "", "", "restoration", 4, "hours", "create", "resolve,cancel,merge", U, False),
    ("repair", "", "", "", "callback", 24, "hours", "reply", "callback,close,cancel", D, False),
    # D3.6b: the estimated restoration time within 20 min of finding the fault point;
    # D3.6c: a repair still going 4 h after arrival reports progress, then every 2 h.
    ("repair", "", "", "", "estimate", 20, "minutes", "locate", "estimate,resolve,cancel,merge", U, False),
    ("repair", "", "", "", "progress_first", 4, "hours", "arrive", "progress,resolve,cancel,merge", U, False),
    ("repair", "", "", "", "progress", 2, "hours", "progress", "progress,resolve,cancel,merge", U, True),
    ("complaint", "", "", "", "dispatch", 20, "minutes", "create", "dispatch,cancel", D, False),
    ("complaint", "", "", "", "accept", 2, "hours", "dispatch", "receive,return,cancel", U, False),
    ("complaint", "", "", "", "redispatch", 20, "minutes", "return", "redispatch,cancel", D, True),
    ("complaint", "", "", "", "contact", 24, "hours", "create", "contact,reply,cancel", U, False),
    ("complaint", "", "", "", "reply", 5, "calendar_days", "create", "reply,cancel", U, False),
    ("complaint", "", "", "", "callback", 1, "working_days", "review", "callback,close,cancel", D, False),
    ("report", "", "", "", "dispatch", 20, "minutes", "create", "dispatch,cancel", D, False),
    ("report", "", "", "", "reply", 10, "calendar_days", "create", "reply,cancel", U, False),
    ("report", "", "", "", "callback", 1, "working_days", "review", "callback,close,cancel", D, False),
    ("opinion", "", "", "", "reply", 9, "working_days", "create", "reply,cancel", U, False),
    ("opinion", "", "", "", "callback", 1, "working_days", "review", "callback,close,cancel", D, False),
    ("suggestion", "", "", "", "reply", 9, "working_days", "create", "reply,cancel", U, False),
    ("suggestion", "", "", "", "callback", 1, "working_days", "review", "callback,close,cancel", D, False),
    ("praise", "", "", "", "reply", 4, "working_days", "create", "reply,cancel", U, False),
    ("praise", "", "", "", "callback", 1, "working_days", "review", "callback,close,cancel", D, False),
    ("inquiry", "", "", "", "reply", 2, "working_days", "dispatch", "reply,cancel", U, False),
    ("inquiry", "", "", "", "callback", 1, "working_days", "review", "callback,close,cancel", D, False),
    ("service_request", "", "", "", "reply", 5, "working_days", "create", "reply,cancel", U, False),
    ("service_request", "reconnection", "", "", "restoration", 24, "hours", "create", "resolve,cancel", U, False),
    ("service_request", "meter_test", "", "", "reply", 5, "working_days", "create", "reply,cancel", U, False),
    ("service_request", "", "", "", "callback", 1, "working_days", "review", "callback,close,cancel", D, False),
    ("chase_up", "", "", "", "dispatch", 10, "minutes", "create", "dispatch,cancel", D, False),
]


def lifecycle_for(code: str, callback: str, options: dict) -> dict:
    return standard_lifecycle(callback=callback, merge=(code == "repair"), field_progress=(code == "repair"), **options)


# Handling records (处理记录): what a unit records when it resolves and
# replies, so that the callback agent can tell the customer what was found
# and done. A repair's restoration time is the time of its resolve (the
# crew's reported completion time, D3.6d), not a second time of its own.
REPAIR_CAUSES = [
    ["equipment_ageing", "设备老化"], ["external_damage", "外力破坏"], ["tree", "树障"], ["lightning", "雷击"],
    ["weather", "大风、暴雨、覆冰等恶劣天气"], ["animal", "小动物"], ["overload", "过负荷"],
    ["workmanship", "施工或检修质量"], ["metering", "计量装置故障"], ["customer_internal", "客户内部故障"],
    ["planned_outage", "计划或临时停电"], ["arrears", "欠费停电"], ["non_power", "非电力故障"], ["other", "其他"],
]
RESPONSIBILITY = [["company", "供电企业责任"], ["customer", "客户责任"], ["third_party", "第三方责任"], ["none", "无责任"]]
# D3.3b: when the repair ends the customer's opinion is asked.
REPAIR_OPINION = [["satisfied", "满意"], ["basically_satisfied", "基本满意"], ["dissatisfied", "不满意"],
                  ["not_asked", "未能征询（客户不在现场）"]]
SUBSTANTIATED = [["true", "属实"], ["partly", "部分属实"], ["false", "不属实"]]
ADOPTION = [["adopted", "采纳"], ["partly", "部分采纳"], ["not_adopted", "暂不采纳"]]


def _f(code, label, kind="text", *, choices=None, required=True, max_length=500, action_time=False, hint=""):
    return {"code": code, "label": label, "kind": kind, "choices": choices or [], "required": required,
            "max_length": max_length, "action_time": action_time, "hint": hint}


# type code -> action -> items, in the order they are asked.
HANDLING_FIELDS = {
    "repair": {
        "resolve": [
            _f("cause", "故障原因", "choice", choices=REPAIR_CAUSES),
            _f("measures", "处理措施", max_length=1000, hint="更换了什么、修复了什么"),
            _f("restored_at", "恢复送电时间", "datetime", required=False, action_time=True, hint="不填即现在"),
        ],
        "reply": [_f("customer_opinion", "客户意见", "choice", choices=REPAIR_OPINION)],
    },
    "complaint": {
        "reply": [
            _f("findings", "调查情况", max_length=2000),
            _f("handling", "处理情况", max_length=2000),
            _f("responsibility", "责任认定", "choice", choices=RESPONSIBILITY),
            _f("customer_accepts", "客户是否认可", "boolean"),
        ],
    },
    "report": {
        "reply": [
            _f("findings", "调查核实情况", max_length=2000),
            _f("substantiated", "举报是否属实", "choice", choices=SUBSTANTIATED),
            _f("handling", "处理结果", max_length=2000),
        ],
    },
    "opinion": {
        "reply": [
            _f("handling", "处理情况", max_length=2000),
            _f("customer_accepts", "客户是否认可", "boolean", required=False),
        ],
    },
    "suggestion": {
        "reply": [_f("adoption", "采纳情况", "choice", choices=ADOPTION), _f("handling", "答复说明", max_length=2000)],
    },
    "praise": {"reply": [_f("verification", "核实情况", max_length=1000)]},
    # Answered on the call an inquiry records nothing more; a department's
    # answer is what the callback tells.
    "inquiry": {"reply": [_f("answer", "答复内容", max_length=2000)]},
    "service_request": {
        "resolve": [
            _f("handling", "办理情况", max_length=1000),
            _f("completed_at", "办结时间", "datetime", required=False, action_time=True, hint="不填即现在"),
        ],
        "reply": [_f("customer_accepts", "客户是否认可", "boolean", required=False)],
    },
}


def handling_field_rows(code: str) -> list[dict]:
    """The default items of one type, as keyword arguments of HandlingField
    (without the type)."""
    rows = []
    for action, items in HANDLING_FIELDS.get(code, {}).items():
        for i, item in enumerate(items):
            rows.append({"action": action, "sort_order": i, **item})
    return rows
