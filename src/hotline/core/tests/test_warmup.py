"""hotline serve loads what the apps register with core.warmup before its
workers fork, so that no request pays for it."""

import logging

from hotline.core import warmup
from hotline.workorders import duplicates


def test_the_registered_loads_run_and_a_failing_one_is_skipped(caplog, monkeypatch):
    monkeypatch.setattr(warmup, "_loaders", dict(warmup._loaders))
    ran = []
    warmup.register("test.fails", lambda: 1 / 0)
    warmup.register("test.ok", lambda: ran.append(True))
    with caplog.at_level(logging.ERROR, logger="hotline.core.warmup"):
        took = warmup.run()
    assert ran == [True]
    assert "test.ok" in took and "test.fails" not in took
    assert "warm-up test.fails failed" in caplog.text


def test_the_duplicate_finders_segmenter_is_among_them(monkeypatch):
    assert warmup._loaders["workorders.duplicates"] is duplicates.warm
    monkeypatch.setattr(duplicates, "_tokenizer", None)
    monkeypatch.setattr(duplicates, "_typos", None)
    warmup.run()
    assert duplicates._tokenizer is not None and duplicates._typos
