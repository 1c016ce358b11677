"""What the calls app's browser tests share (Debian's chromium through
Playwright): logging in, a center clock that runs from a fixed instant and
can jump ahead, the in-page measure of the screen pop (C2b) and a
wallboard figure waited for within the board's bound (C4b)."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator

from hotline.core import clock
from hotline.testing import PASSWORD

POP_BOUND_S = 1.0  # C2b: the caller on the agent's page within 1 second of the ring
BOARD_BOUND_S = 2.0  # C4b: the wallboard changes within 2 seconds of an event


def log_in(page, base: str, user) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_load_state("load")


def order_number(page) -> str:
    """The number of the work order whose page is open."""
    return page.url.rstrip("/").rsplit("/", 1)[1]


# --- the center's clock ------------------------------------------------------------------

class CenterClock:
    """``clock.now()`` of a browser test: time runs at wall-clock speed from
    ``start`` (the live server's pages see it pass), and ``jump`` moves it
    ahead to a later instant (the simulated time between two events),
    never back. Read from the live server's threads too: its base is
    replaced in one assignment."""

    def __init__(self, start: dt.datetime):
        self._base = (start, time.monotonic())

    def __call__(self) -> dt.datetime:
        at, since = self._base
        return at + dt.timedelta(seconds=time.monotonic() - since)

    def jump(self, to: dt.datetime) -> None:
        if to > self():
            self._base = (to, time.monotonic())


@contextlib.contextmanager
def center_clock(start: dt.datetime) -> Iterator[CenterClock]:
    running = CenterClock(start)
    clock.set_now(running)
    try:
        yield running
    finally:
        clock.set_now(None)


# --- the screen pop (C2a, C2b) --------------------------------------------------------------

# Records, in the page, when the pop with a customer first shows (Date.now(), ms).
WATCH_POP = """() => {
  window.__popShownAt = null;
  const seen = () => {
    const pop = document.querySelector('#desk-pop [data-customer]');
    if (pop && pop.offsetParent !== null && window.__popShownAt === null) { window.__popShownAt = Date.now(); }
  };
  new MutationObserver(seen).observe(document.body, {childList: true, subtree: true});
  seen();
}"""


def watch_pop(page) -> None:
    """From now on the page notes when a pop with a customer first shows."""
    page.evaluate(WATCH_POP)


def pop_shown_after(page, started: float) -> float:
    """Seconds from ``started`` (``time.time()`` before the ring's ingest)
    until the pop with a customer showed, as the page itself noted it."""
    page.wait_for_selector("#desk-pop [data-customer]", state="visible", timeout=5000)
    return page.evaluate("window.__popShownAt") / 1000 - started


# --- the wallboard (C4b) ----------------------------------------------------------------

def board_number(tile: str) -> str:
    """The selector of a wallboard tile's number (``wb-offered``, ``wb-agents-ready``, …)."""
    return f"#{tile} .s-num" if tile.startswith("wb-agents-") else f"#{tile} .t-num"


def board_shows_within(page, tile: str, text: str, started: float, bound: float = BOARD_BOUND_S) -> float:
    """Seconds from ``started`` (``time.monotonic()`` before the ingest)
    until the tile shows ``text``; fails once ``bound`` has passed."""
    remaining = max(1, int((bound - (time.monotonic() - started)) * 1000))
    page.wait_for_function("([sel, text]) => { const el = document.querySelector(sel); "
                           "return el && el.textContent.trim() === text; }", arg=[board_number(tile), text],
                           timeout=remaining, polling="raf")
    return time.monotonic() - started
