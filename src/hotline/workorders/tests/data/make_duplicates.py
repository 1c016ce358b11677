"""Generate the labelled duplicate-report data set (spec D3.4).

    .venv/bin/python src/hotline/workorders/tests/data/make_duplicates.py

writes ``duplicates.jsonl`` beside this file (seed 20261202, phrase bank
"A"). ``generate(seed=…, bank="B")`` builds the held-out set in memory: a
different world and callers who say things with another bank of phrases.

The generator simulates fault events in a county's transformer areas and
the callers each event makes ring; every report carries the id of the event
that produced it (``event``), which is the label. Nothing here asks a scorer.
See README.md beside this file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TZ = dt.timezone(dt.timedelta(hours=8))
WINDOW = dt.timedelta(hours=24)  # the merge window the labels assume (settings MERGE_WINDOW_HOURS)
START = dt.datetime(2026, 7, 1, tzinfo=TZ)
DAYS = 28

# Faults of one family at one transformer area inside the window are one
# fault as far as D3.4 can tell (same point, type and phenomenon), so the
# world never makes two of them: see README.md. A missing phase shows as a
# partial outage and as low voltage, so it shares both families.
FAMILIES = {"area_outage": {"no_power"}, "single_household": {"no_power"}, "line_down": {"no_power"},
            "voltage": {"quality"}, "phase_loss": {"no_power", "quality"}, "meter_box": {"meter_box"},
            "charging": {"charging"}}
KIND_WEIGHTS = {"area_outage": 30, "single_household": 16, "line_down": 10, "voltage": 16, "phase_loss": 6,
                "meter_box": 11, "charging": 11}
# (extra callers: geometric p, cap), spread of the callers after the event starts (mean minutes)
CALLERS = {"area_outage": (0.3, 11, 25), "single_household": (0.7, 2, 40), "line_down": (0.5, 4, 20),
           "voltage": (0.45, 5, 70), "phase_loss": (0.5, 4, 40), "meter_box": (0.5, 3, 15), "charging": (0.55, 3, 90)}
REPAIR_HOURS = {"area_outage": (1, 4), "single_household": (1, 3), "line_down": (2, 6), "voltage": (2, 12),
                "phase_loss": (1, 5), "meter_box": (1, 3), "charging": (4, 48)}
# The agent's choice of sub-class is noisy: "lv" is picked for nearly anything.
SUB_CLASS = {"area_outage": {"lv": 60, "hv": 25, None: 10, "quality": 5},
             "single_household": {"lv": 60, "customer_internal": 20, "metering": 10, None: 10},
             "line_down": {"hv": 45, "lv": 45, None: 10},
             "voltage": {"quality": 60, "lv": 30, None: 10},
             "phase_loss": {"lv": 50, "quality": 40, None: 10},
             "meter_box": {"metering": 45, "lv": 45, None: 10},
             "charging": {"charging": 75, "lv": 10, "non_power": 5, None: 10}}
SUB_CLASS_IDS = {"hv": 1, "lv": 2, "quality": 3, "metering": 4, "non_power": 5, "customer_internal": 6, "charging": 7}
INTERNAL = {"single_household": 0.25, "meter_box": 0.1}  # share the agent records as customer-internal
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 6, 6, 6, 6, 6, 6, 6, 7, 9, 10, 9, 7, 4, 2]


@dataclass
class Bank:
    openers: list[str]
    cores: dict[str, list[str]]
    extras: dict[str, list[str]]
    chase: list[str]  # a repeat call about no power
    chase_any: list[str]  # a repeat call that names nothing
    consequences: list[str]
    urgencies: list[str]
    agent_prefixes: list[str]
    agent_suffixes: list[str]
    fillers: list[str]
    typos: dict[str, str]
    places: list[str]
    location: list[str]


BANK_A = Bank(
    openers=["喂，你好", "你好", "喂喂", "你好，我要报修", "师傅你好", "喂，是供电局吗", "你好，我这边要报个修", "同志你好",
             "我是{village}的"],
    cores={
        "area_outage": ["家里突然没电了", "整栋楼都停了", "我们这一片全停电了", "整个小区都黑了", "变压器那边砰的一声，然后就没电了",
                        "突然停电了，邻居家也没电", "村里全部停电了", "停电快一个小时了还没来电", "一下子全黑了，整条街都没电",
                        "楼上楼下都没电了", "刚才打雷之后就停电了", "我们组都停电了", "电突然断了，周围都没电",
                        "家里停电了，看了下别人家也停了", "莫得电了，整个院子黑黢黢的", "俺们这块没电了，都停了",
                        "冇电啊，成条村都冇电", "整个小区都停电了，电梯都停了", "家里没电，出去看了一圈全都没电", "这边大片停电"],
        "single_household": ["就我家没电，邻居家都有电", "只有我们家停电了", "我家没电了，隔壁是有电的", "家里总闸跳了推不上去",
                             "一合闸就跳，合不上", "就我们一户没电，别人家好好的", "空开跳了合不上去", "进户线那里好像断了，只有我家没电",
                             "家里没电了，别家都有电", "我家停电了，电表那里看着没电", "家里的漏电开关老是跳",
                             "我们家的电一会有一会没有，邻居家没事"],
        "line_down": ["电线被树压断了", "门口的电线掉下来了，垂到地上", "大风把电线刮断了", "电线杆倒了，压在路边",
                      "电线耷拉下来，快碰到人了", "一根电线断了掉在地上冒火花", "树枝搭在电线上一直在打火",
                      "电杆被车撞歪了，线都拉下来了", "电线断了掉在田里", "路边的电线断了一根", "电线被吊车挂断了",
                      "电线杆子斜了，线拉得很低"],
        "voltage": ["电压忽高忽低，灯一闪一闪的", "电压太低了，空调开不起来", "晚上电压不稳，灯一会儿亮一会儿暗", "电压低，冰箱启动不了",
                    "灯泡很暗，电饭煲煮不熟饭", "电压不够，水泵抽不上水", "电压太高，把电视烧了", "灯一直在闪，电器老是自己关机",
                    "家里电压不正常，洗衣机转不动", "一到晚上电压就低，空调一直报警", "灯忽明忽暗的，是不是电压有问题",
                    "电压不稳，电脑老是重启"],
        "phase_loss": ["家里一半有电一半没电", "有的灯亮有的不亮", "有的插座有电有的没电", "三相电缺了一相，电机转不了",
                       "厨房有电，卧室没电", "楼里一部分人家有电一部分没有", "灯很暗，有几个房间完全没电",
                       "电动机嗡嗡响就是不转，好像缺相"],
        "meter_box": ["电表箱冒烟了", "楼道里的电表箱着火了", "表箱里面噼里啪啦的在打火", "电表箱有一股烧焦的味道",
                      "电表那里冒烟，还有焦味", "表箱里有火花，好吓人", "电表箱烧黑了", "计量箱里冒白烟", "电表箱里面滋滋响，还冒烟",
                      "楼下电表箱着火了，冒黑烟"],
        "charging": ["小区的充电桩没反应", "充电桩充不上电", "扫码了充电桩也不启动", "充电桩显示故障，车充不进去", "充电枪拔不出来了",
                     "充电桩屏幕是黑的", "停车场的充电桩坏了", "充电桩插上枪没反应", "充电桩一直显示离线",
                     "充了一会就自动断了，充电桩报故障"],
    },
    extras={
        "area_outage": ["听到变压器那边响了一声", "总闸没跳", "空开是好的", "已经停了一个多小时了", "电梯里还关着人",
                        "看到变压器那边闪了一下", "水泵也停了，没水用"],
        "single_household": ["自己看了没找到原因", "家里也没用什么大电器", "电表上的灯不亮了", "早上还好好的", "房东让我打这个电话"],
        "line_down": ["很危险，小孩经常从这里过", "家里也没电了", "我们已经把人拦开了", "下雨天怕漏电", "就在路口"],
        "voltage": ["好几家都这样", "每天晚上七八点最严重", "已经好几天了", "用电笔测了电压只有一百多伏", "怕把电器烧坏"],
        "phase_loss": ["总闸没有跳", "邻居家也是这样", "空调开不了", "电工说是缺相了"],
        "meter_box": ["我们把总闸拉了", "楼里好几家没电了", "已经用灭火器喷了", "味道很大", "就在一楼楼道"],
        "charging": ["车快没电了急着用", "换了好几个桩都不行", "APP上显示离线", "钱已经扣了"],
    },
    chase=["之前报过修了，到现在还没来电", "刚才报修过，再催一下，还是没电"],
    chase_any=["一个小时前打过电话，怎么还没人来", "之前报过修了，师傅什么时候到"],
    consequences=["冰箱里的肉都要化了", "家里有病人", "天太热了", "店里没法营业", "晚上孩子要写作业"],
    urgencies=["麻烦快点派人来", "请尽快处理", "赶紧派人来看看", "快来修一下", "麻烦师傅快点"],
    agent_prefixes=["客户来电反映", "客户称", "来电人反映", "客户报修：", "用户反映"],
    agent_suffixes=["，请尽快处理", "，请派员处理", "，要求尽快处理", ""],
    fillers=["那个", "就是", "嗯", "呃"],
    typos={"没电": "没点", "停电": "停店", "跳闸": "跳匝", "变压器": "变压气", "电表箱": "电表厢", "冒烟": "冒眼",
           "电压": "电亚", "充电桩": "充电庄", "电线": "电现"},
    places=["{n}号楼", "{n}栋", "村东头", "村西头", "老街", "菜市场旁边", "学校后面", "祠堂边上", "卫生院对面", "桥头", "{n}组",
            "加油站旁边", "新村小区", "幸福家园", "工业园"],
    location=["我们{p}这边", "{p}", "住在{p}", "在{p}这块", "{village}{p}"],
)

# The held-out bank: other words, other dialect, other typos for the same
# faults. Nothing in it is copied from bank A.
BANK_B = Bank(
    openers=["喂", "您好", "哎你好", "你好，报个故障", "喂，95598吗", "麻烦问一下", "我这儿有个事", "你好啊师傅", "{village}这边的"],
    cores={
        "area_outage": ["咋回事啊，一下子啥都没电了", "这边大面积断电，半个村都黑了", "整幢楼断电了", "刚才咣的一声，电就没了",
                        "全屯子都没电", "片区停电，路灯也灭了", "我们单元全部停电", "来电了又停，现在彻底没了", "附近几栋楼都断电了",
                        "灯全灭了，邻居说他们家也没有电", "街坊四邻都停电了", "整个村子一片漆黑", "楼里的电全没了",
                        "外面的变压器响了一下，然后一片都停了", "木有电了，隔壁几家都一样", "么得电咯，一条街都黑起的"],
        "single_household": ["别人家都有电，就我屋里没电", "就俺一家断电了", "左右邻居都有电，我家停了", "闸刀一推上去就掉",
                             "总开关跳了，推不上去", "我屋里没得电了，对门有电", "家里的电一阵有一阵没有，只有我家",
                             "户外那根线好像松了，我家没电"],
        "line_down": ["路边一根电线断了，耷在地上", "台风把电线吹断了", "有根线掉下来挂在树上", "电线杆被撞了，电线都扯断了",
                      "高压线断了一根，在地上冒火", "挖掘机把电缆挖断了", "电线落地了，还在噼啪响", "线杆子倒在路中间",
                      "树倒了，把电线砸断了"],
        "voltage": ["电灯一明一暗的，电压不稳定", "电压偏低，空调制冷不行", "电太弱了，冰箱老是停", "晚上电压低得很，热水器都烧不热",
                    "电器一开就停，电压不够用", "灯光闪个不停", "电压老是上下波动", "电压高得吓人，灯泡都烧了",
                    "一到用电高峰电就不够用"],
        "phase_loss": ["屋里一部分电器能用一部分不能用", "只有几个房间有电", "一半的灯不亮", "少了一相电，抽水机转不起来",
                       "楼上有电楼下没电", "电机转不起来，嗡嗡直响"],
        "meter_box": ["电表柜起火了", "表箱里冒青烟", "电表那儿闻到一股胶皮烧焦的味", "楼道表箱在冒火星", "电表烧了，黑乎乎的",
                      "电表箱里面噼噼啪啪的响，有烟", "电表箱子里着了，火苗都窜出来了", "电能表那边一股糊味"],
        "charging": ["电动汽车充电桩用不了", "充电站的桩子不工作", "刷卡后充电桩毫无反应", "充电桩报错，显示故障代码",
                     "充电枪锁住了拿不下来", "桩子屏幕不亮", "充电桩离线了，充不了电", "充到一半就跳了，桩子报故障"],
    },
    extras={
        "area_outage": ["电闸是好的", "屋里热得不行", "老人在家里喘不过气", "变压器那儿好像冒了火光", "都停了两个钟头了"],
        "single_household": ["表上面显示正常", "没开什么电器", "昨晚还好好的"],
        "line_down": ["路人都不敢过", "怕电到人", "我们已经报了警", "就在桥边"],
        "voltage": ["左邻右舍都一样", "天天晚上这样", "测了才一百七十伏", "电视机都打不开"],
        "phase_loss": ["开关都没跳", "隔壁也是半边有电"],
        "meter_box": ["总开关已经关了", "好几户都没电", "灭火器已经用上了", "烟挺大的"],
        "charging": ["车快趴窝了", "试了几个桩都一样", "小程序上显示不可用"],
    },
    chase=["一小时前就打过电话，电还没来，人也没到", "再问一下，我们这里什么时候能来电"],
    chase_any=["已经报过了，催一下进度", "早就打过电话了，人怎么还不来"],
    consequences=["冰柜里东西都要坏了", "家里有小孩", "热得睡不着", "生意都做不了"],
    urgencies=["赶快派人吧", "尽快处理一下", "请马上安排人", "快一点啊"],
    agent_prefixes=["来电反映", "客户报称", "报修内容：", "客户诉求：", "来电客户称"],
    agent_suffixes=["，请速处理", "，望尽快修复", ""],
    fillers=["这个", "反正", "哎", "就"],
    typos={"断电": "断点", "电杆": "电干", "火花": "火华", "电表": "电标", "充电": "冲电", "冒火": "帽火", "电压": "电鸭",
           "没电": "每电"},
    places=["{n}单元", "{n}幢", "东头", "大队部旁边", "小卖部那里", "河边", "晒谷场", "幼儿园边上", "{n}队", "老粮站",
            "公交站后面", "锦绣花园", "物流园"],
    location=["{p}那块", "{p}", "家住{p}", "{village}{p}"],
)
# A second held-out bank, written after the scorer's lexicon was settled on
# A and B and never used to change it.
BANK_C = Bank(
    openers=["嗯你好", "喂？", "你好，是电力公司吗", "打扰一下", "师傅", "哎，喂", "你好我想报个修", "{village}的，"],
    cores={
        "area_outage": ["全楼都停电了，楼道灯也不亮", "我们这一带都没有电了", "小区里黑漆漆的，一户都没电", "停电了，我问了好几个邻居都停了",
                        "电一下就断掉了，整个组都是", "家家户户都没电", "从下午三点开始就一直停电", "一声闷响以后全村停电",
                        "这片儿的电都停了", "楼里都没电了，电梯也停运了", "莫有电哒，一个湾子都黑了", "无电，附近商铺都关门了",
                        "啥时候来电啊，我们这片都停了", "一排房子都没电"],
        "single_household": ["只有我家没有电，楼上楼下都有", "我家电闸合不上，一合就跳", "就我家停了，邻居家灯都亮着",
                             "家里突然断电，隔壁家正常", "我家这一户没电了，电卡里还有钱", "入户的线好像烧了，就我家停电",
                             "漏保一直跳，合不上去"],
        "line_down": ["电线掉下来了，横在马路上", "有根电线被风吹断了", "刮大风把电线杆吹倒了", "一根线垂得很低，车都过不去",
                      "货车把电线刮断了", "电线断了一截，拖在地上", "电杆歪了快倒了", "电线上挂了个东西一直冒火花",
                      "树倒在电线上，线都压弯了"],
        "voltage": ["电压很低，电器都带不起来", "灯一亮一暗的", "电压时高时低，把冰箱烧坏了", "晚上用电电压不足，空调不制冷",
                    "日光灯老闪，电视自动关机", "电不稳，灯泡闪得厉害", "电压太低，洗衣机都转不了", "电压只有一百五，热水器用不了"],
        "phase_loss": ["家里有一半插座没电", "一楼有电二楼没电", "有几个灯不亮了，其他的还亮", "三相缺相，机器开不了", "电机嗡嗡叫转不动",
                       "有的电器能开有的开不了"],
        "meter_box": ["电表箱里面着火了", "表箱冒黑烟，有火苗", "电表那里啪啪响，冒火星子", "闻到电表箱有烧塑料的味道",
                      "电表箱烧坏了，外壳都熔了", "楼下表箱那里在冒烟，还有糊味", "电表箱打火，吓死人了"],
        "charging": ["充电桩充不了电", "充电桩没有反应，屏幕也不亮", "充电枪插上去就报错", "公共充电桩坏了",
                     "充电桩一直显示充电中但是没充进去", "小区充电桩扫码付款后不工作", "充电桩跳枪"],
    },
    extras={
        "area_outage": ["冰箱化霜了", "总闸看过了没问题", "附近的变压器冒了一下火", "听说是变压器坏了", "手机都快没电了"],
        "single_household": ["表箱里我家那个开关是合着的", "电费是交了的", "家里有老人"],
        "line_down": ["下面有小孩在玩", "已经有人在看着", "地上还在冒火", "很吓人"],
        "voltage": ["好几户都反映过", "晚饭时候最严重", "已经一个星期了"],
        "phase_loss": ["邻居也一样", "电闸都是好的"],
        "meter_box": ["几家人都没电了", "用沙子盖住了", "电闸已经拉下来了"],
        "charging": ["车子明天要用", "换了个桩也不行", "客服电话打不通"],
    },
    chase=["刚刚报过停电的，怎么还没人来", "之前打过电话说停电，还没来"],
    chase_any=["前面已经打过一次了，还是没人来处理", "我早上报的修，到现在没人管"],
    consequences=["冰箱里东西要坏了", "家里有婴儿", "热死了", "做不了饭"],
    urgencies=["快点来人", "麻烦尽快", "请快一点", "赶紧来看看"],
    agent_prefixes=["客户反映：", "客户来电称", "报障：", "市民来电反映", "户主反映"],
    agent_suffixes=["，请抓紧处理", "，请尽快到场", "，请处理", ""],
    fillers=["然后", "那啥", "嗯嗯", "额"],
    typos={"停电": "挺电", "没有电": "没有点", "电表箱": "电标箱", "电线": "电限", "电压": "电牙", "冒烟": "帽烟", "充电桩": "充电装",
           "跳": "挑"},
    places=["{n}号院", "{n}巷", "南头", "村委会旁边", "超市后面", "老屋场", "水库边上", "{n}排", "中学对面", "江景花园", "开发区"],
    location=["{p}这里", "{p}", "住{p}", "{village}{p}那边"],
)
# The last held-out bank, written after every change to the scorer and run
# once.
BANK_D = Bank(
    openers=["喂你好啊", "你好呀", "哎呀你好", "您好，我报修", "喂，听得到吗", "{village}这儿"],
    cores={
        "area_outage": ["一整片都没电了，路灯也黑着", "这会儿全停了，问了一圈都一样", "电突然就没有了，周边都是黑的", "整个院子的电都断了",
                        "隔壁左右都停电", "停了快两个小时还没恢复", "大家都没电，是不是线路出问题了", "供电中断了，整个片区",
                        "一下子灯全熄了，一条巷子都是", "我们楼停电了，其他楼也停了", "轰的一下，然后整个村没电了", "没得电用了，附近都是"],
        "single_household": ["邻居都有电，偏偏我家没有", "我家电表后面没电了，别人家正常", "只我一家黑着灯", "家里空开一推就跳下来",
                             "我家的电断了，周围都亮着", "进户线被人碰断了，就我家停"],
        "line_down": ["线断了一根掉在路中间", "电线杆被大车撞断了", "有条电线垂到了地上", "下暴雨把电线打断了", "电缆被挖断了，冒着烟",
                      "电线被竹子压着，快断了", "电线杆斜得厉害，像要倒"],
        "voltage": ["电压不行，空调打不开", "电灯暗得看不清", "电忽大忽小，电器都不敢开", "电压低得厉害，冰箱嗡嗡响不制冷", "灯一直一闪一灭",
                    "电压不稳烧了两个灯泡", "晚上电不够，电磁炉用不了"],
        "phase_loss": ["家里只有一部分灯亮", "一边房间有电一边没有", "插座有的能用有的没电", "抽水泵不转了，说是缺了一相",
                       "楼上几户有电，我们这几户没有"],
        "meter_box": ["电表箱里面冒火了", "表箱烧起来了，一股焦臭味", "电表外面的箱子冒烟", "电表箱里噼啪作响，还有火光",
                      "楼道电表箱着了，黑烟很大", "电表箱发烫还有烧焦味"],
        "charging": ["充电桩不能用了", "充电桩插枪以后没动静", "充电桩一直报故障", "充电桩充着充着就停了", "充电桩黑屏", "充电枪卡住拔不下来"],
    },
    extras={
        "area_outage": ["变压器好像有烟", "空气开关都是合上的", "水也停了", "已经打过物业电话"],
        "single_household": ["电费刚交过", "自己弄不好", "家里有个老人"],
        "line_down": ["千万别让人靠近", "还在噼里啪啦", "挡着路了"],
        "voltage": ["整条街都这样", "每天一到晚上就这样"],
        "phase_loss": ["总闸是好的", "隔壁也有这情况"],
        "meter_box": ["几户都停了", "已经把电闸拉了", "拿灭火器喷过了"],
        "charging": ["车等着用", "换了几个桩都这样"],
    },
    chase=["之前已经报过停电，电还没来", "打过电话了，电到现在还没来"],
    chase_any=["前面打过电话了，人还没到", "报修好久了也没人过来"],
    consequences=["东西都要坏了", "孩子热得哭", "店开不了门"],
    urgencies=["快点过来", "求求快点", "请赶紧", "尽快吧"],
    agent_prefixes=["客户来电：", "居民反映", "来电称", "报修人称"],
    agent_suffixes=["，请尽快处理", "，请派人", ""],
    fillers=["那个啥", "唉", "就是说"],
    typos={"停电": "停垫", "电线": "电县", "电表": "点表", "冒烟": "冒言", "充电桩": "冲电桩", "电压": "电押"},
    places=["{n}号", "{n}栋楼", "北头", "祠堂后面", "小学旁边", "{n}小组", "老厂房", "滨河小区", "车站附近"],
    location=["{p}", "在{p}", "{village}{p}这块"],
)
BANKS = {"A": BANK_A, "B": BANK_B, "C": BANK_C, "D": BANK_D}
VILLAGE_SYLLABLES = ["张", "李", "王", "陈", "刘", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "胡", "朱", "郭", "何", "罗",
                     "高", "林", "柳", "桃", "杏", "枣", "石", "河", "沙", "牛", "龙", "凤"]
VILLAGE_SUFFIXES = ["家村", "庄", "家湾", "坪村", "店村", "桥村", "岭村", "口村"]


@dataclass
class Area:
    id: int
    level: str
    village_id: int | None
    line: str | None
    name: str
    places: list[str] = field(default_factory=list)
    children: list[Area] = field(default_factory=list)


@dataclass
class Event:
    id: str
    kind: str
    area: Area
    start: dt.datetime
    tags: set[str]
    reports: list[dict] = field(default_factory=list)


def _pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _world(rng: random.Random, bank: Bank):
    villages, areas = [], []
    names: set[str] = set()
    next_id = 1000
    for t in range(8):
        lines = [f"10kV{rng.choice('东南西北中新')}{t}{i}线" for i in range(3)]
        for _ in range(rng.randint(5, 8)):
            while (name := rng.choice(VILLAGE_SYLLABLES) + rng.choice(VILLAGE_SUFFIXES)) in names:
                pass
            names.add(name)
            village = Area(next_id, "village", next_id, None, name)
            next_id += 1
            villages.append(village)
            main_line = rng.choice(lines)
            for k in range(rng.randint(2, 5)):
                line = main_line if rng.random() < 0.75 else rng.choice(lines)
                places = [p.format(n=rng.randint(1, 12)) for p in rng.sample(bank.places, 2)]
                ta = Area(next_id, "transformer_area", village.id, line, f"{name}{k + 1}号台区", places)
                next_id += 1
                village.children.append(ta)
                areas.append(ta)
    return villages, areas


def _start_time(rng: random.Random) -> dt.datetime:
    day = rng.randrange(DAYS)
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return START + dt.timedelta(days=day, hours=hour, minutes=rng.random() * 60)


def _text(rng: random.Random, bank: Bank, kind: str, area: Area, village: Area, *, chase: bool) -> str:
    def fill(s: str) -> str:
        return s.replace("{village}", village.name).replace("{p}", rng.choice(area.places or [village.name]))

    if chase:
        core = rng.choice(bank.chase + bank.chase_any if "no_power" in FAMILIES[kind] else bank.chase_any)
    else:
        core = rng.choice(bank.cores[kind])
    parts = []
    agent = rng.random() < 0.4
    if not agent and rng.random() < 0.6:
        parts.append(fill(rng.choice(bank.openers)))
    if rng.random() < 0.35:
        parts.append(fill(rng.choice(bank.location)))
    parts.append(core)
    if not chase:
        parts.extend(rng.sample(bank.extras[kind], k=min(len(bank.extras[kind]), rng.choice([0, 0, 1, 1, 2]))))
    if not agent and rng.random() < 0.2:
        parts.append(rng.choice(bank.consequences))
    if not agent and rng.random() < 0.4:
        parts.append(rng.choice(bank.urgencies))
    if not agent and rng.random() < 0.2:
        i = rng.randrange(len(parts))
        parts[i] = rng.choice(bank.fillers) + parts[i]
    sep = rng.choice(["，", "，", "，", ",", " ", "。"])
    text = sep.join(parts)
    if agent:
        text = rng.choice(bank.agent_prefixes) + text + rng.choice(bank.agent_suffixes)
    text += rng.choice(["。", "", "", "！", "。。", "~"])
    if rng.random() < 0.12:
        present = [w for w in bank.typos if w in text]
        if present:
            w = rng.choice(present)
            text = text.replace(w, bank.typos[w], 1)
    return text


def generate(*, seed: int = 20261202, bank: str = "A") -> list[dict]:
    """The reports of one simulated month, in time order, each labelled
    with the fault event that produced it."""
    rng = random.Random(seed)
    b = BANKS[bank]
    villages, areas = _world(rng, b)
    by_id = {v.id: v for v in villages}
    events: list[Event] = []
    by_area: dict[int, list[Event]] = {}

    def callers(ev: Event, *, scale: float = 1.0) -> None:
        p, cap, spread = CALLERS[ev.kind]
        n = 1
        while n <= cap * scale and rng.random() > p:
            n += 1
        repair = dt.timedelta(hours=rng.uniform(*REPAIR_HOURS[ev.kind]))
        for i in range(n):
            delay = rng.expovariate(1 / 8) if i == 0 else min(rng.expovariate(1 / spread), 300)
            at = ev.start + dt.timedelta(minutes=delay)
            chase = i > 0 and ev.kind != "charging" and rng.random() < 0.06
            if chase:
                at += dt.timedelta(minutes=rng.uniform(40, 150))
            ev.reports.append({"at": at, "repair_end": ev.start + repair, "chase": chase})

    def conflicts(ev: Event) -> bool:
        times = [r["at"] for r in ev.reports]
        for other in by_area.get(ev.area.id, []):
            if not FAMILIES[other.kind] & FAMILIES[ev.kind]:
                continue
            for r in other.reports:
                if min(abs(r["at"] - t) for t in times) <= WINDOW + dt.timedelta(hours=1):
                    return True
        return False

    def add(kind: str, area: Area, start: dt.datetime, tags: set[str], *, scale: float = 1.0) -> Event | None:
        if not START <= start < START + dt.timedelta(days=DAYS):
            return None
        ev = Event(f"{bank}E{len(events) + 1:05d}", kind, area, start, tags)
        callers(ev, scale=scale)
        if conflicts(ev):
            return None
        events.append(ev)
        by_area.setdefault(area.id, []).append(ev)
        return ev

    # Ordinary faults across the county.
    for _ in range(720):
        add(_pick(rng, KIND_WEIGHTS), rng.choice(areas), _start_time(rng), set())
    # Storms: several neighbouring transformer areas of a village fail at
    # once, each its own fault (near misses: the same words next door).
    for _ in range(10):
        at = _start_time(rng)
        for village in rng.sample(villages, 4):
            if len(village.children) < 2:
                continue
            for ta in rng.sample(village.children, min(len(village.children), rng.randint(2, 3))):
                kind = rng.choice(["area_outage", "area_outage", "line_down"])
                add(kind, ta, at + dt.timedelta(minutes=rng.uniform(0, 40)), {"storm", "neighbour"}, scale=1.3)
    base = list(events)
    for ev in base:
        r = rng.random()
        if r < 0.22:
            # Another fault at the same point at about the same time.
            kinds = [k for k in KIND_WEIGHTS if not FAMILIES[k] & FAMILIES[ev.kind]]
            other = add(rng.choice(kinds), ev.area, ev.start + dt.timedelta(minutes=rng.uniform(-120, 120)), {"concurrent"})
            if other:
                ev.tags.add("concurrent")
        elif r < 0.34:
            # The same fault next door at about the same time.
            village = by_id[ev.area.village_id]
            others = [a for a in village.children if a.id != ev.area.id]
            if others:
                other = add(ev.kind, rng.choice(others), ev.start + dt.timedelta(minutes=rng.uniform(-60, 60)), {"neighbour"})
                if other:
                    ev.tags.add("neighbour")
        elif r < 0.44:
            # The same fault at the same point again after the window, while
            # the first reports are still open (customers not yet called back).
            last = max(x["at"] for x in ev.reports)
            again = add(ev.kind, ev.area, last + WINDOW + dt.timedelta(hours=rng.uniform(1.5, 30)), {"recurrence"})
            if again:
                ev.tags.add("recurrence")
                hold = max(x["at"] for x in again.reports) + dt.timedelta(hours=rng.uniform(1, 12))
                for x in ev.reports:
                    x["hold_until"] = hold
    records = []
    for ev in events:
        village = by_id[ev.area.village_id]
        for rep in ev.reports:
            sub = _pick(rng, SUB_CLASS[ev.kind])
            internal = rng.random() < INTERNAL.get(ev.kind, 0.03)
            at_village = rng.random() < 0.05  # the caller could only name the village
            area = village if at_village else ev.area
            close = max(rep["at"], rep["repair_end"]) + dt.timedelta(hours=rng.uniform(1, 36))
            close = max(close, rep.get("hold_until", close))
            records.append({
                "event": ev.id, "kind": ev.kind, "tags": sorted(ev.tags), "chase": rep["chase"],
                "area_id": area.id, "area_level": area.level, "village_id": village.id,
                "line": area.line, "true_area_id": ev.area.id,
                "sub_class_id": SUB_CLASS_IDS[sub] if sub else None,
                "fault_scope": "customer_internal" if internal else "company",
                "text": _text(rng, b, ev.kind, ev.area, village, chase=rep["chase"]),
                "created_at": rep["at"].replace(microsecond=0), "closed_at": close.replace(microsecond=0),
            })
    records.sort(key=lambda r: (r["created_at"], r["event"]))
    for i, r in enumerate(records, 1):
        r["id"] = f"{bank}R{i:05d}"
        r["created_at"] = r["created_at"].isoformat()
        r["closed_at"] = r["closed_at"].isoformat()
    return records


FIELDS = ["id", "event", "kind", "tags", "chase", "area_id", "area_level", "village_id", "line", "true_area_id",
          "sub_class_id", "fault_scope", "text", "created_at", "closed_at"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--bank", choices=sorted(BANKS), default="A")
    ap.add_argument("--out", type=Path, default=HERE / "duplicates.jsonl")
    args = ap.parse_args()
    records = generate(seed=args.seed, bank=args.bank)
    with args.out.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({k: r[k] for k in FIELDS}, ensure_ascii=False) + "\n")
    events = {r["event"] for r in records}
    print(f"{len(records)} reports from {len(events)} fault events -> {args.out}")


if __name__ == "__main__":
    main()
