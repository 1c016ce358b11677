"""Asterisk's ``queue_log`` (C1e): the pipe-delimited file app_queue writes,
one event a line::

    epoch|callid|queue|agent|event|data1|data2|...

``callid`` is the caller channel's unique id (``NONE`` for agent events),
``agent`` the queue member (``NONE`` when there is none). The data fields of
each event, as Asterisk documents them (docs.asterisk.org, Operation →
Logging → Queue Logs):

=================  ==============================================  =========================
event              data                                            normalised
=================  ==============================================  =========================
ENTERQUEUE         url | callerid | origposition [| calleridname]  call.offered
AGENTCALLED        (older versions)                                call.ringing
RINGNOANSWER       ringtime (milliseconds)                         call.ring_no_answer
RINGCANCELED       [ringtime (milliseconds)]                       call.ring_canceled
CONNECT            holdtime | bridged uniqueid | ringtime (s)      call.answered (wait = holdtime, C5d)
COMPLETECALLER     holdtime | calltime | origposition              call.ended, customer hung up
COMPLETEAGENT      holdtime | calltime | origposition              call.ended, agent hung up
AGENTDUMP          —                                               call.ended, agent hung up
ABANDON            position | origposition | waittime              call.abandoned (hangup)
EXITWITHTIMEOUT    position | origposition | waittime              call.abandoned (timeout)
EXITEMPTY          position | origposition | waittime              call.abandoned (empty)
EXITWITHKEY        key | position | origposition | waittime        call.abandoned (key)
BLINDTRANSFER      extension | context | holdtime | calltime | pos  call.transferred (ends the entry)
ATTENDEDTRANSFER   method | method data… | holdtime | calltime |   call.transferred (ends the entry)
                   origposition (LINK carries two data fields)
TRANSFER           extension | context | holdtime | calltime | pos  call.transferred (ends the entry)
PAUSE / PAUSEALL   [reason]                                        agent.not_ready
UNPAUSE / …ALL     [reason]                                        agent.ready
ADDMEMBER          —                                               agent.login (that queue)
REMOVEMEMBER       —                                               agent.logout (that queue)
AGENTLOGIN         channel                                         agent.login (every queue)
AGENTLOGOFF        channel | logintime                             agent.logout (every queue)
=================  ==============================================  =========================

(The ``AGENTCALLBACK…`` variants of the last two are read the same way.)
queue_log carries no hold and no after-call work: its calls' AHT is talk
time only (C5e). Its event id is a hash of the line, so identical lines
are one event (C5h) and reading a file again adds nothing. A line of no
known event, or one that cannot be read, is kept as an unknown event and
reported unplaced (C5g); the switch's own lines (QUEUESTART,
CONFIGRELOAD, DID …) likewise, as belonging to no call.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator

from hotline.calls.models import EventType, Reason
from hotline.calls.services import EventIn, IngestResult, ingest

log = logging.getLogger(__name__)

FORMAT = "queue_log"
_NONE = {"", "NONE", "REALTIME"}
SYSTEM_EVENTS = frozenset({"QUEUESTART", "CONFIGRELOAD", "DID", "SYSCOMPAT", "INFO", "CLEARED"})


def event_id(line: str) -> str:
    """The line's hash: identical lines of one source are one event (C5h)."""
    return "ql:" + hashlib.sha256(line.encode("utf-8", "surrogateescape")).hexdigest()


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _num(value: str | None) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _ms(value: str | None) -> float | None:
    number = _num(value)
    return None if number is None else number / 1000.0


def _unknown(line: str, at: dt.datetime, reason: str, **fields) -> EventIn:
    return EventIn(source_event_id=event_id(line), type=EventType.UNKNOWN, occurred_at=at,
                   payload={"line": line[:2000]}, reason=reason, **fields)


def parse_line(line: str, *, now: dt.datetime | None = None) -> EventIn | None:
    """One queue_log line as a normalised event (None for an empty line)."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    fields = line.split("|")
    received = now or dt.datetime.now(dt.UTC)
    if len(fields) < 5:
        return _unknown(line, received, Reason.INVALID)
    epoch = _num(fields[0])
    try:
        at = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else None
    except (OverflowError, OSError, ValueError):
        at = None
    if at is None:
        return _unknown(line, received, Reason.INVALID)
    callid, queue, agent, name = (f.strip() for f in fields[1:5])
    data = fields[5:]
    callid = "" if callid in _NONE else callid[:120]
    queue = "" if queue in _NONE else queue[:60]
    agent = "" if agent in _NONE else agent[:80]
    name = name.upper()

    def d(i: int) -> str | None:
        return data[i].strip() if i < len(data) else None

    def ev(kind: str, **payload) -> EventIn:
        return EventIn(source_event_id=event_id(line), type=kind, occurred_at=at, call_id=callid, agent=agent,
                       queue=queue, payload={"event": name, **{k: v for k, v in payload.items() if v is not None}})

    if name in SYSTEM_EVENTS:
        return _unknown(line, at, Reason.SYSTEM, call_id=callid, agent=agent, queue=queue)
    call_event = name in _CALL_EVENTS
    if call_event and not callid:
        return _unknown(line, at, Reason.INVALID, agent=agent, queue=queue)
    if name == "ENTERQUEUE":
        return ev(EventType.CALL_OFFERED, url=d(0) or None, caller_number=d(1) or None, position=_int(d(2)),
                  caller_name=d(3) or None)
    if name == "AGENTCALLED":
        return ev(EventType.CALL_RINGING) if agent else _unknown(line, at, Reason.INVALID, call_id=callid)
    if name == "RINGNOANSWER":
        return ev(EventType.CALL_RING_NO_ANSWER, ring_s=_ms(d(0)))
    if name == "RINGCANCELED":
        return ev(EventType.CALL_RING_CANCELED, ring_s=_ms(d(0)))
    if name == "CONNECT":
        return ev(EventType.CALL_ANSWERED, wait_s=_num(d(0)), bridged_uniqueid=d(1) or None, ring_s=_num(d(2)))
    if name in ("COMPLETECALLER", "COMPLETEAGENT"):
        return ev(EventType.CALL_ENDED, hung_up_by="customer" if name == "COMPLETECALLER" else "agent",
                  wait_s=_num(d(0)), talk_s=_num(d(1)), position=_int(d(2)))
    if name == "AGENTDUMP":
        return ev(EventType.CALL_ENDED, hung_up_by="agent")
    if name in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
        reason = {"ABANDON": "hangup", "EXITWITHTIMEOUT": "timeout", "EXITEMPTY": "empty"}[name]
        return ev(EventType.CALL_ABANDONED, reason=reason, position=_int(d(0)), original_position=_int(d(1)),
                  wait_s=_num(d(2)))
    if name == "EXITWITHKEY":
        return ev(EventType.CALL_ABANDONED, reason="key", key=d(0), position=_int(d(1)),
                  original_position=_int(d(2)), wait_s=_num(d(3)))
    if name in ("BLINDTRANSFER", "TRANSFER", "ATTENDEDTRANSFER"):
        # The last three fields are holdtime | calltime | origposition,
        # whatever the method's data before them.
        head, tail = data[:-3], data[-3:]
        if len(tail) < 3:
            return _unknown(line, at, Reason.INVALID, call_id=callid, agent=agent, queue=queue)
        if name == "ATTENDEDTRANSFER":
            method = (head[0] if head else "").strip()
            target = "|".join(h.strip() for h in head[1:])
            extra = {"method": method}
        else:
            target = "@".join(h.strip() for h in head[:2] if h.strip())
            extra = {"method": "blind"}
        return ev(EventType.CALL_TRANSFERRED, target=target or None, wait_s=_num(tail[0]), talk_s=_num(tail[1]),
                  position=_int(tail[2]), ends_call=True, **extra)
    if name in ("PAUSE", "PAUSEALL", "UNPAUSE", "UNPAUSEALL"):
        if not agent:
            return _unknown(line, at, Reason.INVALID, call_id=callid, queue=queue)
        kind = EventType.AGENT_NOT_READY if name in ("PAUSE", "PAUSEALL") else EventType.AGENT_READY
        return ev(kind, reason=(d(0) or None) if kind == EventType.AGENT_NOT_READY else None,
                  all_queues=True if name.endswith("ALL") else None)
    if name in ("ADDMEMBER", "REMOVEMEMBER", "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN",
                "AGENTCALLBACKLOGOFF"):
        if not agent:
            return _unknown(line, at, Reason.INVALID, call_id=callid, queue=queue)
        login = name in ("ADDMEMBER", "AGENTLOGIN", "AGENTCALLBACKLOGIN")
        if name in ("AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF"):
            queue = ""  # chan_agent's log-in is into every queue the agent is a member of
        event = ev(EventType.AGENT_LOGIN if login else EventType.AGENT_LOGOUT, channel=d(0) or None,
                   login_s=_num(d(1)) if not login else None)
        event.queue = queue
        return event
    return _unknown(line, at, Reason.UNKNOWN_EVENT, call_id=callid, agent=agent, queue=queue)


_CALL_EVENTS = frozenset({
    "ENTERQUEUE", "AGENTCALLED", "RINGNOANSWER", "RINGCANCELED", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT",
    "AGENTDUMP", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "BLINDTRANSFER", "TRANSFER",
    "ATTENDEDTRANSFER",
})


def parse_lines(lines: Iterable[str]) -> Iterator[EventIn]:
    now = dt.datetime.now(dt.UTC)
    for line in lines:
        event = parse_line(line, now=now)
        if event is not None:
            yield event


# --- bulk import ------------------------------------------------------------------------

def import_file(source, path: str, *, batch: int = 2000, progress: Callable[[IngestResult], None] | None = None
                ) -> tuple[int, IngestResult]:
    """Load a whole file through the ingest path; returns (lines read,
    counts). Reading it again adds nothing (every line is a duplicate)."""
    total = IngestResult()
    lines = 0
    chunk: list[EventIn] = []
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        for event in parse_lines(fh):
            lines += 1
            chunk.append(event)
            if len(chunk) >= batch:
                total.add(ingest(source, chunk))
                chunk = []
                if progress:
                    progress(total)
    if chunk:
        total.add(ingest(source, chunk))
    if progress:
        progress(total)
    return lines, total


# --- following a live file -----------------------------------------------------------

class Tailer:
    """Follows a queue_log as Asterisk appends to it, surviving rotation.

    The position (the file's inode, the byte offset after the last whole
    line read, a hash of its first line) is saved with each batch, in the
    batch's own transaction (``calls.LogCursor``), so a restarted tailer
    goes on where it stopped. A rotation — the path naming another file
    (new inode) — is noticed on the next poll: the old file is read to its
    end first (Asterisk may have written to it until the rename), then any
    file rotated beside it since (two rotations within one poll), then the
    new one from its start. A file emptied in place (``copytruncate``) is
    read again from its start: it is shorter than the offset, or its first
    line is another. Started after a rotation it missed, it finishes the
    old file when it finds it beside the new one (``queue_log.1`` …).
    Reading a line twice is harmless — identical lines are one event — so
    every doubt is settled by reading again. A line is read once it is
    whole (ends with a newline)."""

    HEAD_BYTES = 4096

    def __init__(self, source, path: str, *, batch: int = 2000, poll: float = 0.5):
        self.source = source
        self.path = os.path.abspath(path)
        self.batch = batch
        self.poll = poll
        self._fh = None
        self._inode = 0
        self._offset = 0
        self._head = ""
        self._partial = b""
        self.total = IngestResult()
        self.lines = 0

    # position

    def _cursor(self):
        from hotline.calls.models import LogCursor

        return LogCursor.objects.filter(source=self.source, path=self.path).first()

    def _head_of(self, fh) -> str:
        """The hash of the file's first whole line ("" while it has none)."""
        first = os.pread(fh.fileno(), self.HEAD_BYTES, 0)
        end = first.find(b"\n")
        if end < 0:
            return ""
        return hashlib.sha256(first[:end]).hexdigest()

    def _open(self, path: str, offset: int) -> None:
        fh = open(path, "rb")  # noqa: SIM115 - kept open across polls
        self._fh, self._inode = fh, os.fstat(fh.fileno()).st_ino
        fh.seek(offset)
        self._offset, self._partial = offset, b""
        self._head = self._head_of(fh)

    def _start(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        cursor = self._cursor()
        if cursor is not None and cursor.inode and cursor.inode != st.st_ino:
            # Rotated while nobody was reading: finish the old file if it is still there.
            old = self._find_inode(cursor.inode)
            if old is not None:
                self._open(old, cursor.offset if cursor.offset <= os.stat(old).st_size else 0)
                self._drain(final=True)
                mtime = os.fstat(self._fh.fileno()).st_mtime
                self._close()
                self._open(self.path, 0)
                self._rotated_since(mtime, skip={cursor.inode, self._inode})
            else:
                self._open(self.path, 0)
            return True
        self._open(self.path, 0)
        if cursor is not None and cursor.offset <= st.st_size and (not cursor.head or cursor.head == self._head):
            self._fh.seek(cursor.offset)
            self._offset = cursor.offset
        return True

    def _siblings(self) -> list[str]:
        return [p for p in glob.glob(glob.escape(self.path) + ".*") if not p.endswith((".gz", ".bz2", ".xz", ".zst"))]

    def _find_inode(self, inode: int) -> str | None:
        for candidate in sorted(self._siblings()):
            try:
                if os.stat(candidate).st_ino == inode:
                    return candidate
            except OSError:
                continue
        return None

    def _rotated_since(self, mtime: float, *, skip: set[int]) -> None:
        """Read whole any file rotated beside the path after ``mtime`` (a
        second rotation within one poll); the open file is left as it is."""
        found = []
        for candidate in self._siblings():
            try:
                st = os.stat(candidate)
            except OSError:
                continue
            if st.st_ino not in skip and st.st_mtime >= mtime:
                found.append((st.st_mtime, candidate))
        for _mtime, candidate in sorted(found):
            with open(candidate, "rb") as fh:
                lines = fh.read().split(b"\n")
            now = dt.datetime.now(dt.UTC)
            events = [e for e in (parse_line(raw.decode("utf-8", "surrogateescape"), now=now) for raw in lines) if e]
            for i in range(0, len(events), self.batch):
                self.total.add(ingest(self.source, events[i: i + self.batch]))
            self.lines += len([raw for raw in lines if raw.strip()])

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = None

    # reading

    def _drain(self, *, final: bool = False) -> int:
        """Read what is there now and ingest it; returns whole lines read."""
        read = 0
        while True:
            data = self._fh.read(1 << 20)
            if not data:
                break
            buffer = self._partial + data
            lines = buffer.split(b"\n")
            self._partial = lines.pop()
            consumed = len(buffer) - len(self._partial)
            now = dt.datetime.now(dt.UTC)
            events: list[EventIn] = []
            for raw in lines:
                event = parse_line(raw.decode("utf-8", "surrogateescape"), now=now)
                if event is not None:
                    events.append(event)
                read += 1
            self._offset += consumed
            if not self._head:
                self._head = self._head_of(self._fh)
            self._ingest(events)
        if final and self._partial:
            # The end of a rotated file: its last line is whole even without a newline.
            event = parse_line(self._partial.decode("utf-8", "surrogateescape"))
            self._offset += len(self._partial)
            self._partial = b""
            self._ingest([event] if event is not None else [])
            read += 1
        self.lines += read
        return read

    def _ingest(self, events: list[EventIn]) -> None:
        for i in range(0, max(len(events), 1), self.batch):
            chunk = events[i: i + self.batch]
            last = i + self.batch >= len(events)
            # The position is saved with the batch that reaches it.
            cursor = (self.path, self._inode, self._offset, self._head) if last else None
            self.total.add(ingest(self.source, chunk, cursor=cursor))

    def step(self) -> int:
        """One poll: notice rotation or truncation, read new whole lines."""
        if self._fh is None and not self._start():
            return 0
        read = 0
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None  # renamed away, the new file not created yet: finish the old one
        if st is not None and st.st_ino != self._inode:
            old_inode = self._inode
            read += self._drain(final=True)
            old_mtime = os.fstat(self._fh.fileno()).st_mtime
            self._close()
            self._open(self.path, 0)
            # Only now, the new file open: a file rotated away between the
            # look and the opening is beside the path by then.
            self._rotated_since(old_mtime, skip={old_inode, self._inode})
        elif st is not None and (st.st_size < self._offset
                                 or (self._head and self._head_of(self._fh) != self._head)):
            log.info("queue_log %s was emptied in place; reading it from the start", self.path)
            self._fh.seek(0)
            self._offset, self._partial = 0, b""
            self._head = self._head_of(self._fh)
        read += self._drain()
        return read

    def run(self, *, stop: threading.Event | None = None, on_progress: Callable[[Tailer], None] | None = None) -> None:
        stop = stop or threading.Event()
        try:
            while not stop.is_set():
                if self.step() and on_progress:
                    on_progress(self)
                stop.wait(self.poll)
        finally:
            self._close()
