"""Duplicate-report proposals (spec D3.4a, D3.4d, D3.4e).

Pure scoring over plain data: no ORM, no settings, so it is fast and can be
tested and benchmarked on its own. The caller (``services.suggest_duplicates``)
turns orders into ``Report`` values and records the proposals it gets back.

A candidate is proposed only when it can merge at all (the same fault point
under the policy's merge level, earlier, inside the window; D3.4d) and its
weighted score reaches the policy's threshold with a phenomenon that is
similar enough. The reason codes recorded with each proposal (D3.4e):

``same_fault_point``   the same service area (transformer area or village);
``same_line``          the same 10 kV line (where the line is known and the
                       areas differ);
``same_village``       a different area of the same village: a caller who
                       named only the village, or merging at village level;
``same_fault_class``   the same repair sub-class;
``same_cause``         the same fault scope (cause) recorded at intake;
``similar_phenomenon`` the phenomenon texts say the same thing (similarity
                       at least ``policy.reason_similarity``);
``close_in_time``      reported within ``policy.time_half_life`` of each other.

Phenomenon similarity (``similarity``):

1. typing errors are undone: agents type with a pinyin input method, so an
   error is a homophone (没点 for 没电, 跳匝 for 跳闸), found with pypinyin's
   character readings;
2. callers' many words for one phenomenon become one term (停电/没电/断电/冇电
   /莫得电 → 停电, 跳闸/掉闸/合不上 → 跳闸, 电压低/电压不稳 → 电压异常,
   冒烟, 打火 …); each term also stands for its class (no power, voltage,
   burning, line), so related phenomena count for each other;
3. a clause the lexicon cannot read is searched for the characters that
   carry a phenomenon (烟/火/焦, 电…断/停/没, 闪/暗, 线…断/倒/垂) and counts
   for that class only;
4. the rest is segmented with jieba, stop words dropped, words weighted by
   jieba's IDF table and their character bigrams added at a low weight;
5. the similarity is the cosine of the two weighted feature sets. When a
   text names no phenomenon at all (a repeat call "怎么还没人来"), it is
   unknown (None) and counts as ``policy.unknown_similarity``.

jieba's dictionary and IDF table and pypinyin's readings ship in their
wheels: nothing is fetched. jieba loads once per process, on first use
(about a second); each text's features are cached.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import os
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

TRANSFORMER_AREA, VILLAGE, TOWNSHIP, LINE = "transformer_area", "village", "township", "line"
MERGE_LEVELS = (TRANSFORMER_AREA, LINE, VILLAGE)


@dataclass(frozen=True, slots=True)
class Report:
    """What the scorer needs of a repair report. ``village_id`` is the area
    itself for a village, its parent for a transformer area. ``key`` is the
    caller's own handle (an order number) and is passed through."""

    area_id: int | None
    area_level: str
    village_id: int | None
    sub_class_id: int | None
    fault_scope: str
    text: str
    created_at: dt.datetime
    line: str | None = None
    key: Any = None


@dataclass(frozen=True, slots=True)
class DuplicatePolicy:
    """Weights and threshold of the proposal score; every field has a default."""

    merge_level: str = TRANSFORMER_AREA  # the fault point two reports must share (D3.4d)
    window: dt.timedelta = dt.timedelta(hours=24)  # older reports are never proposed
    same_fault_point: float = 3.0
    same_line: float = 1.0
    same_village: float = 1.5
    same_fault_class: float = 0.5
    same_cause: float = 0.5
    close_in_time: float = 1.0  # times 0.5 ** (age / time_half_life)
    time_half_life: dt.timedelta = dt.timedelta(hours=3)
    similar_phenomenon: float = 4.0  # times the similarity (0..1)
    unknown_similarity: float = 0.5  # assumed when a text says nothing the scorer can read
    min_similarity: float = 0.3  # a phenomenon less similar than this is another fault
    reason_similarity: float = 0.3
    threshold: float = 5.0
    limit: int = 5

    def __post_init__(self) -> None:
        if self.merge_level not in MERGE_LEVELS:
            raise ValueError(f"merge_level must be one of {MERGE_LEVELS}, not {self.merge_level!r}")
        if self.window <= dt.timedelta(0) or self.time_half_life <= dt.timedelta(0):
            raise ValueError("window and time_half_life must be positive")


DEFAULT_POLICY = DuplicatePolicy()


@dataclass(frozen=True, slots=True)
class Proposal:
    score: float
    reasons: tuple[str, ...]
    similarity: float | None
    candidate: Report | None = field(default=None, compare=False)

    @property
    def key(self) -> Any:
        return self.candidate.key if self.candidate else None


# --- the fault point (D3.4d) ----------------------------------------------------

def area_relation(a: Report, b: Report, *, level: str) -> tuple[str, ...]:
    """The area reasons that make ``a`` and ``b`` one possible fault point,
    or () when they are not (the same rules as ``services.same_fault_point``,
    plus the line level)."""
    if a.area_id is None or b.area_id is None:
        return ()
    if a.area_id == b.area_id:
        return ("same_fault_point",) if a.area_level != TOWNSHIP else ()
    same_line = a.line is not None and a.line == b.line
    same_village = a.village_id is not None and a.village_id == b.village_id
    # A caller who could name only the village may be at any transformer
    # area of it: possibly the same point, for the agent to confirm.
    village_pair = {a.area_level, b.area_level} == {VILLAGE, TRANSFORMER_AREA} and same_village
    if village_pair or (level == VILLAGE and same_village):
        return ("same_line", "same_village") if same_line else ("same_village",)
    if level == LINE and same_line and TOWNSHIP not in (a.area_level, b.area_level):
        return ("same_line",)
    return ()


# --- phenomenon text --------------------------------------------------------------

# The terms the normaliser writes into the text, each with the features it
# stands for: the term itself, weighted by how specific it is (no power is
# what most callers report; smoke at a meter box is rare and telling), and
# its broader class, so that related phenomena (a tripped breaker and no
# power, a dim light and low voltage) still count for each other.
TERMS: dict[str, dict[str, float]] = {
    "停电": {"停电": 2.0, "类:无电": 3.0},
    "跳闸": {"跳闸": 2.0, "类:无电": 3.0},
    "时有时无": {"时有时无": 2.0, "类:无电": 3.0, "类:电压": 1.5},
    "缺相": {"缺相": 2.0, "类:无电": 2.5, "类:电压": 2.0},
    "电压异常": {"电压异常": 2.0, "类:电压": 3.0},
    "闪烁": {"闪烁": 2.0, "类:电压": 3.0},
    "灯暗": {"灯暗": 2.0, "类:电压": 3.0},
    "电器烧坏": {"电器烧坏": 2.0, "类:电压": 2.5},
    "冒烟": {"冒烟": 2.0, "类:烧损": 3.0},
    "着火": {"着火": 2.0, "类:烧损": 3.0},
    "火花": {"火花": 2.0, "类:烧损": 3.0},
    "焦味": {"焦味": 2.0, "类:烧损": 3.0},
    "烧毁": {"烧毁": 2.0, "类:烧损": 3.0},
    "断线": {"断线": 2.0, "类:线路": 3.0},
    "倒杆": {"倒杆": 2.0, "类:线路": 3.0},
    "异响": {"异响": 2.0},
    "设备故障": {"设备故障": 2.0},
    # equipment
    "变压器": {"变压器": 2.5},
    "电表箱": {"电表箱": 2.5, "类:计量": 2.0},
    "电表": {"电表": 2.0, "类:计量": 2.0},
    "电线": {"电线": 2.0, "类:线路": 1.5},
    "电杆": {"电杆": 2.5, "类:线路": 1.5},
    "充电桩": {"充电桩": 3.5},
    "开关": {"开关": 1.5},
    "树": {"树": 1.5},
    # scope
    "大面积": {"大面积": 1.5},
    "单户": {"单户": 2.0},
    # a repeat call: says there is an earlier report, not what it was about
    "再次来电": {},
}
EQUIPMENT = frozenset({"变压器", "电表箱", "电表", "电线", "电杆", "充电桩", "开关", "树"})
# The terms that say what happened. A charging point is a fault class of
# its own (充电设施故障): naming it says what failed.
PHENOMENA = frozenset(TERMS) - (EQUIPMENT - {"充电桩"}) - {"大面积", "单户", "再次来电"}

# Callers' words for one phenomenon, applied in order (earlier patterns
# first: "一半有电一半没电" is a missing phase, not an outage).
_SUBSTITUTIONS: list[tuple[str, str]] = [
    # an agent's boilerplate says nothing about the fault ("来电" here is the call)
    (r"(?:客户|用户|来电人|来电客户|报修人)?(?:来电)?(?:反映|报称|报修|诉求|称)[:：]?", " "),
    # a repeat call ("之前报过修了"): the caller chases an earlier report
    (r"(?:之前|刚才|已经|上午|早上)?(?:报过修?|报修过|打过电话|报过了)|再催|催一下|催促|催进度|催一催", " 再次来电 "),
    # an electric car's empty battery is no supply fault
    (r"车[^，,。！\s]{0,3}没电", " "),
    (r"请?(?:尽快|速|马上)?(?:派员|派人)?(?:处理|修复|核实)", " "),
    # scope: one household, or many
    (r"(?:邻居|隔壁|别人家?|别家|对门|其他人家)[^，,。！\s]{0,3}(?:都|是|倒)?有电|(?:邻居|隔壁|别人)[^，,。！\s]{0,2}(?:没事|正常|好好的)|"
     r"(?:就|只有|只是)(?:我|我们|俺|俺们)?(?:家|一户|一家|屋里)", " 单户 "),
    (r"整栋|整幢|整个|整片|整条|全村|大片|大面积|一大片|成条|一片|楼上楼下|周围|附近|好几家|好几户|几户|全部|全都|一条街|"
     r"(?:邻居|隔壁|别人家?|别家)[^，,。！\s]{0,3}也", " 大面积 "),
    # some circuits live, others dead: a missing phase
    (r"(?:有的|一半|一部分|部分)[^，,。！\s]{0,6}(?:有电|亮|能用)[，,\s]*(?:有的|一半|一部分|部分)[^，,。！\s]{0,6}(?:没电|没有电|没有|不亮|不能用)|"
     r"缺(?:了一?|一)?相|少了?一相|断了?一相|一半有电|半边有电|有的[^，,。！\s]{0,4}有电|有的灯亮|一部分[^，,。！\s]{0,6}有电|"
     r"[^，,。！\s]{1,4}有电[，,\s]*[^，,。！\s]{1,4}(?:没电|没有电|不亮)|只有[^，,。！\s]{0,4}(?:房间|屋|插座|灯)有电|"
     r"一半的?[^，,。！\s]{0,3}(?:不亮|没电)", " 缺相 "),
    (r"时有时无|一会儿?有一会儿?没|忽有忽无|一阵有一阵没|来电了?又停|停停来来", " 时有时无 "),
    # no power (dialect: 冇电, 莫得电, 没得电, 木有电, 么得电)
    (r"(?:没|冇|莫|木|么|无|毛)(?:有|得)?电|停电|断电|掉电|停了电|失电|没来电|电还没来|电(?![线缆杆表箱桩压器])[^，,。！\s]{0,2}(?:停了|断了|没了|停掉)|(?:我家|家里|屋里|楼里)[^，,。！\s]{0,2}停了|"
     r"全黑|(?<!烧)黑了|黑黢黢|漆黑|灯[^，,。！\s]{0,2}(?:灭|不亮)|都停了|停了", " 停电 "),
    (r"跳闸|掉闸|跳了?闸|闸[^，,。！\s]{0,2}跳|合闸就跳|(?:推|合)上去?就(?:掉|跳)|合不上|推不上去?|老是跳|就跳|一直跳|漏保|漏电保护", " 跳闸 "),
    (r"一闪一闪|闪烁|忽明忽暗|一明一暗|忽亮忽暗|一会儿?亮一会儿?暗|灯[^，,。！\s]{0,3}闪|闪个不停|忽高忽低|波动", " 闪烁 "),
    (r"电压|带不动|电[^，,。！\s]{0,2}(?:太|很)弱|电[^，,。！\s]{0,2}不够", " 电压异常 "),
    (r"灯[^，,。！\s]{0,4}暗|很暗|发暗", " 灯暗 "),
    (r"转不[动起了]|转不起来|带不起来", " 电压异常 "),
    (r"冒[青白黑]?烟|起烟|有烟|烟[^，,。！\s]{0,2}大", " 冒烟 "),
    (r"着火|起火|火苗|烧起来|烧着|着了|燃烧", " 着火 "),
    (r"冒?火花|打火|冒?火星|冒火|放电|噼里啪啦|噼噼啪啪|噼啪|滋滋|火光", " 火花 "),
    (r"烧焦|焦糊|糊味|焦味|烧[^，,。！\s]{0,2}味", " 焦味 "),
    (r"(?:电视|灯泡|电器|冰箱|空调|电脑|电视机)[^，,。！\s]{0,3}烧[坏了毁]?|烧[坏了毁][^，,。！\s]{0,3}(?:电视|灯泡|电器|冰箱|空调|电脑)",
     " 电器烧坏 "),
    (r"烧黑|烧毁|烧化|熔化|烧熔|烧坏|烧了", " 烧毁 "),
    (r"砰|嘭|咚|轰|巨响|响了一声|一声响|响了一下|爆炸|炸了|嗡嗡", " 异响 "),
    (r"(?:电线杆|电杆|线杆|杆子)[^，,。！\s]{0,4}(?:倒|歪|斜|断)", " 倒杆 电杆 "),
    (r"(?:压|刮|吹|挂|砸|扯|挖|撞|拉)断|断了一根|掉下来|垂下来|垂到|耷拉|落地", " 断线 "),
    (r"(?:电线|电缆|线|缆)[^，,。！\s]{0,3}(?:断|掉|垂|耷|落地|拉下|很低|太低)", " 电线 断线 "),
    (r"没反应|无反应|不启动|启动不了|离线|显示故障|报故障|报错|故障代码|坏了|不工作|用不了|失灵|充不[上进了]|拔不[出下]", " 设备故障 "),
    # equipment
    (r"充电桩|充电站|充电枪|充电柱|桩子", " 充电桩 "),
    (r"电表箱子?|表箱|计量箱|电表柜|表柜", " 电表箱 "),
    (r"电能表|电度表|电表|表计", " 电表 "),
    (r"变压器|配变|台变|变台|箱变", " 变压器 "),
    (r"电线杆|电杆|线杆", " 电杆 "),
    (r"电线|电缆|导线|进户线|高压线|线路", " 电线 "),
    (r"总闸|空开|空气开关|闸刀|电闸|总开关|开关", " 开关 "),
    (r"树枝|树杈|树木|大树", " 树 "),
]
# A term written into the text is a private-use character until the end,
# so that a later pattern cannot match inside it (电表 inside 电表箱).
_MARK = {term: chr(0xE000 + i) for i, term in enumerate(TERMS)}
_UNMARK = {ord(mark): f" {term} " for term, mark in _MARK.items()}
_PATTERNS = [(re.compile(p), re.sub(r"\S+", lambda m: _MARK[m.group()], r)) for p, r in _SUBSTITUTIONS]

# Agents type with a pinyin input method, so a typing error is a homophone
# of the word meant (没点 for 没电, 跳匝 for 跳闸, 变压气 for 变压器). A
# window of the text that sounds like one of these words (toneless, with
# the usual fuzzy initials and finals) and shares a character with it in
# place is read as that word.
TYPO_TARGETS = ("没电", "停电", "断电", "掉电", "漏电", "跳闸", "掉闸", "电压", "变压器", "电表箱", "电表", "表箱", "冒烟", "冒火",
                "火花", "打火", "着火", "起火", "烧焦", "电线", "电杆", "线杆", "电缆", "充电桩", "充电", "缺相", "空开", "总闸",
                "闸刀", "闪烁", "断线", "压断")
_FUZZY = [(re.compile(r"^([zcs])h"), r"\1"), (re.compile(r"^l"), "n"), (re.compile(r"(an|en|in)g$"), r"\1")]

# Words that carry no phenomenon: greetings, pronouns, particles, urgency.
STOP_WORDS = frozenset("""
喂 你好 您好 师傅 同志 麻烦 请 请问 问 一下 快点 快 点 尽快 赶紧 赶快 马上 派 派人 来 修 修一下 报修 报 个 客户 用户 来电 反映 称
谢谢 我 我们 俺 俺们 咱 咱们 你 你们 他 他们 她 它 人 家 家里 屋里 屋 这边 那边 这里 那里 这块 那块 这儿 那儿 边 里 上 下
的 地 得 了 着 过 啊 呀 吧 呢 吗 嘛 咯 哦 嗯 呃 哎 哈 啦 喽 么 那个 这个 就是 反正 就 也 都 还 又 再 在 是 有 没 不 很 太 好
一 一下子 一直 老是 突然 刚才 刚刚 现在 已经 今天 怎么 什么 啥 咋 好像 看 看看 一个 一根 一些 这样 那样 一样 还是 然后 而且 但是
可以 能 要 想 会 说 让 把 被 给 和 跟 与 及 或 呢 嘞 哇 处理 安排 派员 尽快处理 要求 情况 问题 回事
""".split())

_W_BIGRAM = 0.35

_init_lock = threading.Lock()
_tokenizer = None
_idf: dict[str, float] = {}
_idf_median = 10.0


def _ensure_tokenizer():
    """jieba and its IDF table load in about a second: once per process,
    on first use."""
    global _tokenizer, _idf_median
    if _tokenizer is not None:
        return _tokenizer
    with _init_lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            data_dir = os.environ.get("HOTLINE_DATA_DIR")
            if data_dir and os.path.isdir(data_dir):
                tk.tmp_dir = data_dir  # jieba's prefix-dictionary cache, rather than the shared /tmp
            tk.initialize()
            for term in TERMS:
                tk.add_word(term, freq=100000)
            path = os.path.join(os.path.dirname(jieba.__file__), "analyse", "idf.txt")
            with open(path, encoding="utf-8") as f:
                for line in f:
                    word, _, value = line.rstrip("\n").partition(" ")
                    if value:
                        _idf[word] = float(value)
            values = sorted(_idf.values())
            _idf_median = values[len(values) // 2] if values else 10.0
            _tokenizer = tk
    return _tokenizer


@functools.lru_cache(maxsize=4096)
def _fold(reading: str) -> str:
    """A pinyin reading without its tone, fuzzy initials and finals folded."""
    plain = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
    for pattern, repl in _FUZZY:
        plain = pattern.sub(repl, plain)
    return plain


_typos: dict[str, str] | None = None


def _typo_table() -> dict[str, str]:
    """Every misspelling of a TYPO_TARGETS word in one homophone character
    (the others as meant) -> the word; built once from pypinyin's table."""
    global _typos
    if _typos is None:
        from pypinyin.pinyin_dict import pinyin_dict

        wanted = {_fold(r) for ch in set("".join(TYPO_TARGETS)) for r in pinyin_dict.get(ord(ch), "").split(",")}
        readings: dict[str, set[str]] = {}
        by_reading: dict[str, set[str]] = {}
        for cp, value in pinyin_dict.items():
            for r in value.split(","):
                r = _fold(r)
                if r in wanted:
                    readings.setdefault(chr(cp), set()).add(r)
                    by_reading.setdefault(r, set()).add(chr(cp))
        table: dict[str, str] = {}
        for word in TYPO_TARGETS:
            for k, ch in enumerate(word):
                for r in readings.get(ch, ()):
                    for homophone in by_reading[r]:
                        if homophone != ch:
                            table.setdefault(word[:k] + homophone + word[k + 1:], word)
        for word in TYPO_TARGETS:  # a correct word is never a typo of another
            table.pop(word, None)
        _typos = table
    return _typos


def fix_typos(text: str) -> str:
    """``text`` with homophone typing errors of the lexicon's words undone."""
    table = _typo_table()
    out, i, n = [], 0, len(text)
    while i < n:
        for size in (3, 2):
            word = table.get(text[i:i + size])
            if word:
                out.append(word)
                i += size
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=20000)
def normalise(text: str) -> str:
    """The phenomenon text with typing errors undone and callers' words
    replaced by one term each."""
    text = fix_typos(unicodedata.normalize("NFKC", text or "").lower())
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text.translate(_UNMARK)


def _word_weight(word: str) -> float:
    # jieba's IDF: 0.9 for 的, 5-8 for everyday words, 10+ for rare ones.
    return min(_idf.get(word, _idf_median), 12.0) / 12.0


_CONTENT = re.compile(r"\w")


# Back-off for wordings the lexicon lacks: a clause that names no known
# phenomenon is read for the characters that carry one (smoke and fire,
# electricity with cut/stop/none, flicker and dimness, a line or pole with
# broken/fallen/sagging), and counts for that phenomenon's class only.
_CUES = [
    (re.compile(r"[烟火焦糊燃]|烧[^，,。！\s]{0,4}味"), "类:烧损"),
    (re.compile(r"电[^，,。！\s]{0,4}[断停没无]|黑"), "类:无电"),
    (re.compile(r"[闸跳]"), "类:无电"),
    (re.compile(r"[闪暗]|压[^，,。！\s]{0,2}[低高不]"), "类:电压"),
    (re.compile(r"[线杆缆][^，,。！\s]{0,4}[断倒掉垂弯歪拖横]"), "类:线路"),
]
_CUE_WEIGHT = 2.5
_CLAUSE = re.compile(r"[，,。！!？?；;~]+")


@functools.lru_cache(maxsize=20000)
def cues(text: str) -> tuple[str, ...]:
    """Phenomenon classes read off the clauses the lexicon could not read."""
    found = []
    for clause in _CLAUSE.split(normalise(text)):
        if any(w in PHENOMENA for w in clause.split()):
            continue
        for pattern, cls in _CUES:
            if cls not in found and pattern.search(clause):
                found.append(cls)
    return tuple(found)


@functools.lru_cache(maxsize=20000)
def tokens(text: str) -> tuple[str, ...]:
    """The content words of a phenomenon text (cached: a candidate's text is
    compared with every new report for a day)."""
    tk = _ensure_tokenizer()
    return tuple(w for w in tk.lcut(normalise(text)) if _CONTENT.search(w) and w not in STOP_WORDS)


@functools.lru_cache(maxsize=20000)
def vector(text: str) -> tuple[dict[str, float], float]:
    """Weighted set of features (terms, their classes, other words, and
    character bigrams of the other words), and its norm. A feature counts
    once however often it is said."""
    vec: dict[str, float] = {}

    def put(feature: str, weight: float) -> None:
        if weight > vec.get(feature, 0.0):
            vec[feature] = weight

    for cls in cues(text):
        put(cls, _CUE_WEIGHT)
    for w in tokens(text):
        if w in TERMS:
            for feature, weight in TERMS[w].items():
                put(feature, weight)
            continue
        put(w, _word_weight(w))
        # Bigrams of the words the lexicon does not know, for typing
        # errors and other wordings.
        for i in range(len(w) - 1):
            put("#" + w[i:i + 2], _W_BIGRAM)
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return vec, norm


@functools.lru_cache(maxsize=20000)
def names_phenomenon(text: str) -> bool:
    """Whether the text says what happened in words the lexicon knows (a
    repeat call "怎么还没人来" or "电梯里还关着人" does not)."""
    return any(w in PHENOMENA for w in tokens(text)) or bool(cues(text))


def similarity(a: str, b: str) -> float | None:
    """Cosine similarity of two phenomenon texts, 0..1; None when either
    names no phenomenon the scorer knows: then it cannot tell, and the other
    factors decide."""
    if not names_phenomenon(a) or not names_phenomenon(b):
        return None
    va, na = vector(a)
    vb, nb = vector(b)
    if len(va) > len(vb):
        va, vb = vb, va
    dot = sum(v * vb[k] for k, v in va.items() if k in vb)
    return dot / (na * nb)


# --- the score ----------------------------------------------------------------------

def score(new: Report, candidate: Report, *, policy: DuplicatePolicy = DEFAULT_POLICY) -> Proposal | None:
    """How likely ``candidate`` (an open earlier report) is the same fault as
    ``new``; None when it cannot be (another fault point, later, or outside
    the window)."""
    area = area_relation(new, candidate, level=policy.merge_level)
    if not area:
        return None
    age = new.created_at - candidate.created_at
    if age < dt.timedelta(0) or age > policy.window:
        return None
    reasons = list(area)
    total = 0.0
    if "same_fault_point" in area:
        total += policy.same_fault_point
    if "same_line" in area:
        total += policy.same_line
    if "same_village" in area:
        total += policy.same_village
    if new.sub_class_id and new.sub_class_id == candidate.sub_class_id:
        total += policy.same_fault_class
        reasons.append("same_fault_class")
    if new.fault_scope and new.fault_scope == candidate.fault_scope:
        total += policy.same_cause
        reasons.append("same_cause")
    sim = similarity(new.text, candidate.text)
    total += policy.similar_phenomenon * (policy.unknown_similarity if sim is None else sim)
    if sim is not None and sim >= policy.reason_similarity:
        reasons.append("similar_phenomenon")
    recency = 0.5 ** (age / policy.time_half_life)
    total += policy.close_in_time * recency
    if age <= policy.time_half_life:
        reasons.append("close_in_time")
    return Proposal(round(total, 3), tuple(reasons), None if sim is None else round(sim, 3), candidate)


def propose(new: Report, candidates: Iterable[Report], *, policy: DuplicatePolicy = DEFAULT_POLICY) -> list[Proposal]:
    """The candidates worth proposing as duplicates of ``new``, best first:
    score at least the threshold, and a phenomenon not plainly different."""
    out = []
    for c in candidates:
        p = score(new, c, policy=policy)
        if p is None or p.score < policy.threshold:
            continue
        if p.similarity is not None and p.similarity < policy.min_similarity:
            continue
        out.append(p)
    # Best score first; on a tie the earlier report (the master-to-be).
    out.sort(key=lambda p: (-p.score, p.candidate.created_at))
    return out[:policy.limit]


def warm() -> None:
    """Load the segmenter and the homophone table now (core.warmup: before
    a web server forks its workers), not in the first repair's request."""
    _ensure_tokenizer()
    _typo_table()
