"""Forecast: shape recovery, PRC holidays / adjusted working days, uplifts, back-test numbers, loaders."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import openpyxl
import pytest

from hotline.workforce import forecast as fc

STEP = 15
PER_DAY = 96
LEVEL = 10_000.0  # calls per ordinary day (weekday mean)
HOUR = np.arange(PER_DAY) * STEP / 60.0


def _norm(x: np.ndarray) -> np.ndarray:
    return x / x.sum()


WEEKDAY_TOD = _norm(0.05 + np.exp(-0.5 * ((HOUR - 9.5) / 1.6) ** 2) + 0.85 * np.exp(-0.5 * ((HOUR - 15) / 1.8) ** 2))
WEEKEND_TOD = _norm(0.05 + np.exp(-0.5 * ((HOUR - 11.0) / 2.5) ** 2) + 0.5 * np.exp(-0.5 * ((HOUR - 19) / 2.0) ** 2))
HOLIDAY_TOD = _norm(0.15 + np.exp(-0.5 * ((HOUR - 13.0) / 3.5) ** 2))
FACTOR = {"mon": 1.15, "tue": 1.0, "wed": 1.0, "thu": 1.0, "fri": 1.0, "sat": 0.7, "sun": 0.6, "holiday": 0.4}
AHT_TOD = 280.0 + 40.0 * np.sin(2 * np.pi * HOUR / 24.0)


def true_day(day_kind: str) -> np.ndarray:
    """Expected calls per interval of a day of that kind, in units of LEVEL."""
    if day_kind == "adjusted_workday":
        return np.mean([FACTOR[d] for d in ("mon", "tue", "wed", "thu", "fri")]) * WEEKDAY_TOD
    tod = {"sat": WEEKEND_TOD, "sun": WEEKEND_TOD, "holiday": HOLIDAY_TOD}.get(day_kind, WEEKDAY_TOD)
    return FACTOR[day_kind] * tod


# Level: mean over the seven weekdays (what the model calls the level).
WEEK_MEAN = np.mean([FACTOR[d] for d in fc.DAY_TYPES[:7]])


def synthetic(first: dt.date, days: int, seed: int = 0, queue: str = "repair") -> fc.IntervalStats:
    rng = np.random.default_rng(seed)
    starts, offered, aht = [], [], []
    for k in range(days):
        day = first + dt.timedelta(days=k)
        mean = true_day(fc.day_type(day)) * LEVEL / WEEK_MEAN
        calls = rng.poisson(mean)
        offered.append(calls)
        # mean of ``calls`` exponential handle times
        n = np.maximum(calls, 1)
        aht.append(AHT_TOD * rng.gamma(n, 1 / n))
        starts.append(np.datetime64(day, "m") + np.arange(PER_DAY) * STEP * fc.MINUTE)
    return fc.IntervalStats.from_arrays(
        np.concatenate(starts), queue, np.concatenate(offered), np.concatenate(aht), STEP
    )


# 2024-03-04 (Mon) .. 2024-09-08 (Sun): Qingming, Labour Day and Dragon Boat holidays,
# adjusted working days 2024-04-07 (Sun), 04-28 (Sun), 05-11 (Sat).
HISTORY_START = dt.date(2024, 3, 4)
HISTORY_DAYS = 27 * 7
ORIGIN = dt.datetime(2024, 9, 9)  # Monday; 09-14 Sat is a working day, 09-15..17 Mid-Autumn


@pytest.fixture(scope="module")
def stats() -> fc.IntervalStats:
    return synthetic(HISTORY_START, HISTORY_DAYS)


def rel_l1(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).sum() / want.sum())


def test_calendar_day_types() -> None:
    assert fc.day_type(dt.date(2024, 10, 1)) == "holiday"
    assert fc.day_type(dt.date(2024, 10, 7)) == "holiday"  # Monday taken off in lieu
    assert fc.day_type(dt.date(2024, 9, 14)) == "adjusted_workday"  # Saturday worked (调休)
    assert fc.day_type(dt.date(2024, 6, 8)) == "sat"  # ordinary weekend next to a holiday
    assert fc.day_type(dt.date(2024, 9, 10)) == "tue"


def test_shape_model_recovers_the_generating_shape(stats: fc.IntervalStats) -> None:
    fit = fc.fit_shape(stats, before=ORIGIN)
    assert fit.level == pytest.approx(LEVEL, rel=0.02)
    for kind in ("mon", "wed", "sat", "sun", "holiday"):
        want = true_day(kind) * LEVEL / WEEK_MEAN
        got = fit.profiles[kind] * fit.level
        assert rel_l1(got, want) < 0.06, kind
        # and it is not just any day's shape: Monday vs Saturday differ by far more than the fit error
    assert rel_l1(fit.profiles["sat"] * fit.level, true_day("mon") * LEVEL / WEEK_MEAN) > 0.3
    assert fit.days_used["holiday"] == 9  # 3 Qingming + 5 Labour Day + Dragon Boat
    # AHT profile: volume-weighted mean per time of day ~ the generating curve
    # (judged where the calls are: a quiet night slot's AHT is a mean of few calls)
    volume = true_day("tue")
    assert rel_l1(fit.aht_profile * volume, AHT_TOD * volume) < 0.015


def test_holidays_and_adjusted_working_days_in_the_horizon(stats: fc.IntervalStats) -> None:
    f = fc.forecast(stats, ORIGIN, 14 * PER_DAY, "shape")
    assert f.day_types[5] == "adjusted_workday" and f.day_types[6:9] == ("holiday",) * 3
    days = f.offered.reshape(14, PER_DAY)
    scale = LEVEL / WEEK_MEAN
    # the Mid-Autumn holiday (Sun-Tue) is forecast like past holidays, not like a Sunday or Monday
    for d in (6, 7, 8):
        assert rel_l1(days[d], true_day("holiday") * scale) < 0.08
        assert rel_l1(days[d], true_day("mon") * scale) > 0.4
    # the working Saturday is forecast like a weekday, not like a Saturday
    assert rel_l1(days[5], true_day("adjusted_workday") * scale) < 0.06
    assert rel_l1(days[5], true_day("sat") * scale) > 0.3
    # ordinary days as usual
    assert rel_l1(days[1], true_day("tue") * scale) < 0.06
    # seasonal naive does not know the calendar: it repeats last week's Saturday
    naive = fc.forecast(stats, ORIGIN, 14 * PER_DAY, "seasonal_naive").offered.reshape(14, PER_DAY)
    assert rel_l1(naive[5], true_day("sat") * scale) < 0.1


def test_uplifts_multiply_only_their_queue_and_window(stats: fc.IntervalStats) -> None:
    base = fc.forecast(stats, ORIGIN, 2 * PER_DAY, "shape")
    storm = fc.Uplift(dt.datetime(2024, 9, 10, 14), dt.datetime(2024, 9, 10, 18), 3.0, "repair", "typhoon warning")
    other = (dt.datetime(2024, 9, 9), dt.datetime(2024, 9, 11), 5.0, "billing")  # tuple form, other queue
    outage = ("2024-09-09 08:00", "2024-09-09 09:00", 1.5, None)  # every queue
    f = fc.forecast(stats, ORIGIN, 2 * PER_DAY, "shape", uplifts=[storm, other, outage])
    ratio = f.offered / base.offered
    expected = np.ones(2 * PER_DAY)
    expected[PER_DAY + 14 * 4 : PER_DAY + 18 * 4] = 3.0
    expected[8 * 4 : 9 * 4] = 1.5
    np.testing.assert_allclose(ratio, expected)
    np.testing.assert_allclose(f.baseline, base.offered)


def test_methods_and_backtest_on_the_synthetic_history(stats: fc.IntervalStats) -> None:
    report = fc.backtest(stats, horizon_days=7, origins=3, step_days=7)
    assert set(report.scores) == set(fc.METHODS)
    for score in report.scores.values():
        assert not score.error
        assert 0 < score.wape < 0.5
        assert score.mae_by_interval.shape == (PER_DAY,)
        assert len(score.wape_by_origin) == 3
    # averaging several weeks beats copying one noisy week
    assert report.scores["shape"].wape < report.scores["seasonal_naive"].wape
    assert report.best == "shape"
    assert report.table()[0]["method"] == "shape"
    hw = fc.forecast(stats, ORIGIN, 3 * PER_DAY, "holt_winters")
    assert hw.offered.shape == (3 * PER_DAY,) and np.all(hw.offered >= 0)
    assert rel_l1(hw.offered[:PER_DAY], true_day("mon") * LEVEL / WEEK_MEAN) < 0.2


def test_backtest_numbers_match_a_hand_computed_example() -> None:
    # 21 days of hourly data; every interval of day d has 10 + d calls, AHT 300 s,
    # except day 20 (AHT 330 s, and 0 calls at 05:00).
    first = dt.date(2023, 3, 6)
    starts, offered, aht = [], [], []
    for d in range(21):
        day = np.datetime64(first + dt.timedelta(days=d), "m")
        starts.append(day + np.arange(24) * 60 * fc.MINUTE)
        y = np.full(24, 10.0 + d)
        if d == 20:
            y[5] = 0.0
        offered.append(y)
        aht.append(np.full(24, 330.0 if d == 20 else 300.0))
    stats = fc.IntervalStats.from_arrays(np.concatenate(starts), "q", np.concatenate(offered), np.concatenate(aht))
    assert stats.interval_minutes == 60
    report = fc.backtest(stats, methods=["seasonal_naive"], horizon_days=1, origins=2, step_days=1)
    s = report.scores["seasonal_naive"]
    # origin day 19: forecast = day 12 = 22, actual 29 -> |e| = 7 in 24 intervals
    # origin day 20: forecast = day 13 = 23, actual 30 -> 7 in 23 intervals, 23 at 05:00
    assert s.wape_by_origin == pytest.approx((7 * 24 / (29 * 24), (7 * 23 + 23) / (30 * 23)))
    assert s.mae_by_origin == pytest.approx((7.0, (7 * 23 + 23) / 24))
    assert s.wape == pytest.approx((7 * 47 + 23) / (29 * 24 + 30 * 23))
    assert s.mae == pytest.approx((7 * 47 + 23) / 48)
    want_slot = np.full(24, 7.0)
    want_slot[5] = (7 + 23) / 2
    np.testing.assert_allclose(s.mae_by_interval, want_slot)
    # AHT forecast 300 s; error 30 s on day 20's 690 answered-weighted calls, 0 on day 19
    assert s.aht_mae == pytest.approx(30 * 690 / (29 * 24 + 690))
    assert [str(o) for o in report.origins] == ["2023-03-25", "2023-03-26"]


def test_wape_and_mae_helpers() -> None:
    assert fc.wape([10, 0, 30], [12, 1, 27]) == pytest.approx(6 / 40)
    assert fc.mae([10, 0, 30, np.nan], [12, 1, 27, 99]) == pytest.approx(2.0)


CSV_OK = """start,queue,offered,aht_seconds
2024-06-03 08:00,repair,12,300
2024-06-03 08:30,repair,15,310.5
2024-06-03 08:00,billing,4,200
2024-06-03T08:30:00,billing,0,
"""


def test_csv_loader_reads_a_good_file() -> None:
    stats = fc.load_interval_csv(io.StringIO(CSV_OK))
    assert stats.interval_minutes == 30
    assert stats.queues() == ["billing", "repair"]
    s = stats.series("repair")
    assert s.offered.shape == (1, 48)
    assert s.offered[0, 16] == 12 and s.offered[0, 17] == 15 and np.isnan(s.offered[0, 18])
    assert s.aht[0, 17] == pytest.approx(310.5)
    assert np.isnan(stats.series("billing").aht[0, 17])  # no calls: no AHT


@pytest.mark.parametrize(
    ("bad_line", "where"),
    [
        ("2024-06-03 09:00,repair,abc,300", "line 4, column C (offered)"),
        ("2024-06-03 09:00,repair,-1,300", "line 4, column C (offered)"),
        ("06/03/2024 9am,repair,3,300", "line 4, column A (start)"),
        ("2024-06-03 09:00,repair,3,", "line 4, column D (aht_seconds)"),
        ("2024-06-03 09:10,repair,3,300", "line 4, column A (start)"),  # not on the 30-minute grid
        ("2024-06-03 08:30,repair,3,300", "line 4, column A (start)"),  # duplicate of line 3
        ("2024-06-03 09:00,,3,300", "line 4, column B (queue)"),
    ],
)
def test_csv_loader_names_row_and_column(bad_line: str, where: str) -> None:
    text = "start,queue,offered,aht_seconds\n2024-06-03 08:00,repair,12,300\n2024-06-03 08:30,repair,15,300\n"
    with pytest.raises(fc.IntervalDataError) as err:
        fc.load_interval_csv(io.StringIO(text + bad_line + "\n"))
    assert where in str(err.value)


def test_csv_loader_rejects_missing_columns_and_odd_intervals() -> None:
    with pytest.raises(fc.IntervalDataError, match="missing column.*aht_seconds"):
        fc.load_interval_csv(io.StringIO("start,queue,offered\n2024-06-03 08:00,q,1\n"))
    text = "start,offered,aht\n2024-06-03 08:00,1,300\n2024-06-03 08:20,1,300\n"
    with pytest.raises(fc.IntervalDataError, match="line 3.*15, 30 or 60"):
        fc.load_interval_csv(io.StringIO(text))


def test_xlsx_loader(tmp_path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["时间", "队列", "呼入量", "平均处理时长"])
    ws.append([dt.datetime(2024, 6, 3, 8, 0), "repair", 12, 300])
    ws.append([dt.datetime(2024, 6, 3, 8, 15), "repair", 9, 280.0])
    good = tmp_path / "good.xlsx"
    book.save(good)
    stats = fc.load_interval_xlsx(good)
    assert stats.interval_minutes == 15 and stats.offered.tolist() == [12, 9]
    ws.append([dt.datetime(2024, 6, 3, 8, 30), "repair", "many", 280.0])
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    with pytest.raises(fc.IntervalDataError, match=r"row 4, column C \(呼入量\)"):
        fc.load_interval_xlsx(bad)


@pytest.mark.rule("D1m")
def test_day_types_of_a_year_chinesecalendar_does_not_know_come_from_the_provisional_source():
    import datetime as dt

    from hotline.workforce.forecast import calendar_known, day_type

    assert day_type(dt.date(2027, 2, 8)) == "holiday"  # Spring Festival 2027, a Monday
    assert day_type(dt.date(2027, 3, 8)) == "mon"
    assert calendar_known(dt.date(2027, 2, 8))
