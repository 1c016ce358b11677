"""Parts of the demo county's invented place and unit names.

Stems are two characters, one from each syllable list, so every generated
name has the same shape ("桃园" + "村"). That matters for the address → area
lookup, which matches names as substrings: two-character stems that are
unique across the county, none of them containing a suffix character
(乡 镇 村 街 道 社 区 台 号 组 县), cannot be mistaken for one another inside an
address.
"""

from __future__ import annotations

import random

PROVINCE = "浙江省电力公司"
CITY = "临江市供电公司"
COUNTY_PLACE = "青溪县"
COUNTY = f"{COUNTY_PLACE}供电公司"
CENTER = "95598客户服务中心"
DISPATCH_DESK = "配网抢修指挥台"
MARKETING = "营销部"
DISCIPLINE = "纪检监察室"
METERING = "计量中心"

# The county seat's station keeps the traditional name; the others are
# named after the first township they serve.
SEAT_STATION = "城关供电所"
SEAT_TOWNSHIPS = ["城关镇", "城东街道", "城西街道"]

FIRST = list("桃李杏梅竹松柏枫柳杨青白红黄金银石玉龙凤马鹤鹿东西南北上前后新古大小长高平安和兴福永太万双清湖河泉塘岭峰岩坪花茶桑云霞瑞宏丰裕华仁德义文崇田良")
SECOND = list("园山岭坑湾溪塘桥坪坝岗口头田源林湖庄岙垟坞浦渡洋阳峰水泉川洲家埠港墩亭岩坂垄堡店铺")

# Town-seat communities are named after streets and landmarks, not syllables.
URBAN_STEMS = ["南街", "北门", "东关", "西关", "解放", "人民", "中山", "文化", "建设", "新华", "胜利", "和平", "朝阳",
               "迎宾", "府前", "学院", "滨江", "锦绣", "春晖", "秀水", "望江", "紫荆", "翠苑", "康乐"]

FORBIDDEN = set("乡镇村街道社区台号组县市省")


class StemPool:
    """Draws unique two-character stems, deterministic for a given rng."""

    def __init__(self, rng: random.Random, reserved: set[str] | None = None):
        self.rng = rng
        self.used: set[str] = set(reserved or ())
        self.urban = list(URBAN_STEMS)
        rng.shuffle(self.urban)

    def rural(self) -> str:
        for _ in range(10_000):
            stem = self.rng.choice(FIRST) + self.rng.choice(SECOND)
            if stem[0] != stem[1] and stem not in self.used and not FORBIDDEN & set(stem):
                self.used.add(stem)
                return stem
        raise RuntimeError("ran out of place-name stems")

    def street(self) -> str:
        while self.urban:
            stem = self.urban.pop()
            if stem not in self.used:
                self.used.add(stem)
                return stem
        return self.rural()


def seat_stems() -> set[str]:
    """Stems already taken by the seat's township names."""
    return {name[:2] for name in SEAT_TOWNSHIPS}


def join_lineage(names: list[str]) -> str:
    """Address text for a chain of area names, township first.

    A transformer area is named after its village ("桃园村2号台区"), so the
    village is not repeated: 东山乡 + 桃园村 + 桃园村2号台区 → 东山乡桃园村2号台区.
    """
    out, previous = "", ""
    for name in names:
        out += name[len(previous):] if previous and name.startswith(previous) else name
        previous = name
    return out
