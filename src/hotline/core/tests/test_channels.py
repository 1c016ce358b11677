"""The outbox's channels against real receivers on 127.0.0.1: an HTTP server
and an SMTP server (aiosmtpd), and the file channel's file."""

import json

import pytest

from hotline.core import channels, outbox
from hotline.core.channels.base import Result
from hotline.core.models import OutboxEvent, OutboxMessage, OutboxState
from hotline.core.tests.receivers import HttpReceiver, SmtpReceiver

pytestmark = pytest.mark.django_db
SECRET = "s3cret-shared-with-the-gateway"


@pytest.fixture
def channel_env(settings, tmp_path):
    """Channel settings as the environment would give them."""
    env = {"HOTLINE_SMS_SECRET": SECRET, "HOTLINE_SMS_TIMEOUT": "2", "HOTLINE_SMS_RATE": "0",
           "HOTLINE_WEBHOOK_SECRET": SECRET, "HOTLINE_WEBHOOK_TIMEOUT": "2",
           "HOTLINE_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"), "HOTLINE_OUTBOX_BACKOFF": "10"}
    settings.HOTLINE_OUTBOX_ENV = env
    return env


def _deliver():
    return outbox.deliver(threads=1, batch=50)


def _state(message):
    message.refresh_from_db()
    return message.state


def _later(frozen, message):
    """Move the clock to the message's next attempt."""
    message.refresh_from_db()
    frozen.set(message.next_attempt_at)


# --- sms_http ---------------------------------------------------------------------

@pytest.mark.rule("N3c")
def test_sms_goes_to_the_gateway_signed_with_the_key_and_its_receipt_is_kept(channel_env, frozen):
    with HttpReceiver(answer={"message_id": "gw-778"}) as gateway:
        channel_env["HOTLINE_SMS_URL"] = gateway.url
        m = outbox.enqueue(channel="sms_http", recipient="138 0013 8000", payload={"text": "您的报修已受理"},
                           dedup_key="order:1:accepted:13800138000:sms", source="order:1:accepted")
        assert _deliver().handled == 1
    req, = gateway.requests
    assert req["key"] == m.dedup_key
    body = json.loads(req["body"])
    assert body == {"id": m.dedup_key, "to": "13800138000", "text": "您的报修已受理"}
    h = req["headers"]
    assert channels.verify(SECRET, timestamp=h["X-Hotline-Timestamp"], signature=h["X-Hotline-Signature"],
                           body=req["body"])
    assert not channels.verify("another secret", timestamp=h["X-Hotline-Timestamp"],
                               signature=h["X-Hotline-Signature"], body=req["body"])
    assert not channels.verify(SECRET, timestamp=h["X-Hotline-Timestamp"], signature=h["X-Hotline-Signature"],
                               body=req["body"] + b" ")
    m.refresh_from_db()
    # The gateway's receipt id: the channel acknowledges.
    assert m.state == OutboxState.ACKNOWLEDGED and m.ack == "gw-778" and m.attempts == 1
    assert list(m.events.values_list("from_state", "to_state")) == [("pending", "sending"), ("sending", "acknowledged")]


def test_an_sms_to_no_phone_number_fails_for_good_without_a_request(channel_env):
    with HttpReceiver() as gateway:
        channel_env["HOTLINE_SMS_URL"] = gateway.url
        m = outbox.enqueue(channel="sms_http", recipient="not a phone", payload={"text": "x"}, dedup_key="bad-phone")
        _deliver()
    assert gateway.requests == []
    m.refresh_from_db()
    assert m.state == OutboxState.FAILED and "接收方" in m.last_error


def test_the_sms_settings_are_validated_naming_the_variable(channel_env):
    channel_env["HOTLINE_SMS_URL"] = "ftp://gateway"
    assert any("HOTLINE_SMS_URL" in p for p in channels.get("sms_http").problems())
    channel_env["HOTLINE_SMS_URL"] = "http://127.0.0.1:1/sms"
    channel_env["HOTLINE_SMS_SECRET"] = ""
    assert any("HOTLINE_SMS_SECRET" in p for p in channels.get("sms_http").problems())
    channel_env["HOTLINE_SMS_SECRET"] = SECRET
    channel_env["HOTLINE_SMS_TIMEOUT"] = "soon"
    assert any("HOTLINE_SMS_TIMEOUT" in p for p in channels.get("sms_http").problems())
    channel_env["HOTLINE_SMS_TIMEOUT"] = "3"
    assert channels.get("sms_http").problems() == []


# --- webhook ----------------------------------------------------------------------

@pytest.mark.rule("N3a", "N3c")
def test_a_receiver_failing_the_first_attempts_gets_the_message_exactly_once(channel_env, frozen):
    with HttpReceiver(fail_first=3) as receiver:
        m = outbox.enqueue(channel="webhook", recipient=receiver.url, payload={"order": "GZ26111700001"},
                           dedup_key="linkage:42:result")
        for attempt in range(1, 4):
            _deliver()
            m.refresh_from_db()
            assert m.state == OutboxState.PENDING and m.attempts == attempt
            assert "HTTP 503" in m.last_error
            _later(frozen, m)
        _deliver()
    assert _state(m) == OutboxState.SENT and m.attempts == 4 and m.last_error == ""
    assert len(receiver.requests) == 4 and list(receiver.processed) == [m.dedup_key]
    assert receiver.processed[m.dedup_key] == {"id": m.dedup_key, "source": "", "data": {"order": "GZ26111700001"}}
    # Every state change is on record.
    assert list(m.events.values_list("to_state", flat=True)) == ["sending", "pending"] * 3 + ["sending", "sent"]


@pytest.mark.rule("N3a", "N3c")
def test_a_timed_out_send_is_retried_and_the_receiver_counts_one_message(channel_env, frozen):
    channel_env["HOTLINE_WEBHOOK_TIMEOUT"] = "0.3"
    with HttpReceiver(sleep_first=1.5) as receiver:
        m = outbox.enqueue(channel="webhook", recipient=receiver.url, payload={"n": 1}, dedup_key="notice:7:unit:3")
        _deliver()
        m.refresh_from_db()
        # No answer: the outcome is unknown, so it goes again with the same key.
        assert m.state == OutboxState.PENDING and "Idempotency-Key" in m.last_error
        _later(frozen, m)
        _deliver()
    assert _state(m) == OutboxState.SENT and m.attempts == 2
    assert [r["key"] for r in receiver.requests] == [m.dedup_key, m.dedup_key]
    assert len(receiver.processed) == 1


@pytest.mark.rule("N3c")
@pytest.mark.parametrize("status", [400, 410])
def test_a_refusal_fails_for_good_at_once(channel_env, status):
    with HttpReceiver(status=status) as receiver:
        m = outbox.enqueue(channel="webhook", recipient=receiver.url, payload={}, dedup_key=f"refused-{status}")
        _deliver()
        _deliver()
    m.refresh_from_db()
    assert m.state == OutboxState.FAILED and m.attempts == 1 and f"HTTP {status}" in m.last_error
    assert len(receiver.requests) == 1


def test_throttling_and_server_errors_are_retried_and_retry_after_is_honoured(channel_env, frozen):
    with HttpReceiver(fail_first=1, fail_status=429) as receiver:
        m = outbox.enqueue(channel="webhook", recipient=receiver.url, payload={}, dedup_key="busy")
        _deliver()
    m.refresh_from_db()
    assert m.state == OutboxState.PENDING and "HTTP 429" in m.last_error
    # The receiver asked for 120 s; the backoff alone would wait at most 10.
    assert (m.next_attempt_at - frozen()).total_seconds() == pytest.approx(120)


def test_a_webhook_to_no_url_fails_for_good(channel_env):
    m = outbox.enqueue(channel="webhook", recipient="mailto:someone", payload={}, dedup_key="no-url")
    _deliver()
    m.refresh_from_db()
    assert m.state == OutboxState.FAILED and "接收方" in m.last_error


def test_a_receiver_that_is_down_is_retried(channel_env, frozen):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens there once closed
    m = outbox.enqueue(channel="webhook", recipient=f"http://127.0.0.1:{port}/hook", payload={}, dedup_key="down")
    _deliver()
    m.refresh_from_db()
    assert m.state == OutboxState.PENDING and m.attempts == 1 and m.last_error


def test_keep_alive_connections_are_reused_between_messages(channel_env):
    with HttpReceiver() as receiver:
        for i in range(5):
            outbox.enqueue(channel="webhook", recipient=receiver.url, payload={"i": i}, dedup_key=f"ka-{i}")
        assert _deliver().handled == 5
    assert len(receiver.processed) == 5
    # One connection: the server saw the same client port each time.
    assert len({r["client"] for r in receiver.requests}) == 1


# --- e-mail -----------------------------------------------------------------------

@pytest.fixture
def smtp(settings):
    with SmtpReceiver() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        settings.DEFAULT_FROM_EMAIL = "95598@grid.example"
        yield server


@pytest.mark.rule("N3c")
def test_mail_reaches_an_smtp_server_with_a_message_id_from_the_key(channel_env, smtp):
    m = outbox.enqueue(channel="email", recipient="duty@county.example",
                       payload={"subject": "停电信息", "body": "10kV 城关线计划停电"}, dedup_key="outage:5:duty@county")
    _deliver()
    assert _state(m) == OutboxState.SENT
    mail, = smtp.mails
    msg = mail["message"]
    assert mail["to"] == ["duty@county.example"] and mail["from"] == "95598@grid.example"
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(msg["Subject"]))) == "停电信息"
    from hotline.core.channels.email.transport import message_id

    # The same key always makes the same Message-ID: a mail sent again after
    # an unknown outcome is recognisably the same mail.
    assert msg["Message-ID"] == message_id(m.dedup_key, "95598@grid.example")
    assert message_id(m.dedup_key, "x@grid.example") == msg["Message-ID"]
    assert message_id("another key", "x@grid.example") != msg["Message-ID"]
    assert "10kV" in msg.get_payload(decode=True).decode()


def test_mail_to_a_refused_or_malformed_address_fails_for_good(channel_env, smtp):
    refused = outbox.enqueue(channel="email", recipient="nobody@invalid.example", payload={"subject": "s", "body": "b"},
                             dedup_key="mail-refused")
    malformed = outbox.enqueue(channel="email", recipient="no address", payload={"subject": "s", "body": "b"},
                               dedup_key="mail-malformed")
    _deliver()
    refused.refresh_from_db()
    malformed.refresh_from_db()
    assert refused.state == OutboxState.FAILED and "550" in refused.last_error
    assert malformed.state == OutboxState.FAILED and "接收方" in malformed.last_error
    assert smtp.mails == []


def test_mail_while_the_server_is_away_is_retried(channel_env, settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    m = outbox.enqueue(channel="email", recipient="a@b.example", payload={"subject": "s", "body": "b"}, dedup_key="m-away")
    _deliver()
    m.refresh_from_db()
    assert m.state == OutboxState.PENDING and m.last_error


# --- file -------------------------------------------------------------------------

def test_the_file_channel_appends_one_json_line_per_message(channel_env, tmp_path, capsys):
    channel_env["HOTLINE_OUTBOX_ECHO"] = "1"
    for i in range(3):
        outbox.enqueue(channel="file", recipient="demo", payload={"text": f"通知 {i}"}, dedup_key=f"f-{i}")
    _deliver()
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert [(r["id"], r["payload"]["text"]) for r in lines] == [(f"f-{i}", f"通知 {i}") for i in range(3)]
    assert "通知 2" in capsys.readouterr().out


def test_the_file_channel_defaults_to_the_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.HOTLINE_OUTBOX_ENV = {}
    from hotline.core.channels.file import conf

    assert conf.load().path == tmp_path / "outbox.jsonl"


# --- the registry -----------------------------------------------------------------

def test_a_plug_in_channel_is_used_by_name_and_unknown_names_are_refused(channel_env):
    sent = []
    channels.register(channels.Channel(name="test_pager", send=lambda m: sent.append(m.recipient) or Result.sent("p1"),
                                       rate=lambda: 0.0, timeout=lambda: 1.0, problems=lambda: []))
    try:
        m = outbox.enqueue(channel="test_pager", recipient="pager-9", payload={}, dedup_key="pg-1")
        _deliver()
        assert sent == ["pager-9"] and _state(m) == OutboxState.ACKNOWLEDGED
    finally:
        channels.unregister("test_pager")
    with pytest.raises(outbox.OutboxError) as err:
        outbox.enqueue(channel="test_pager", recipient="x", payload={}, dedup_key="pg-2")
    assert err.value.field == "channel"
    assert set(channels.BUILT_IN) <= set(channels.names())


def test_a_channel_that_raises_is_retried_not_lost(channel_env):
    def broken(message):
        raise RuntimeError("bug in a transport")

    channels.register(channels.Channel(name="test_broken", send=broken, rate=lambda: 0.0, timeout=lambda: 1.0,
                                       problems=lambda: []))
    try:
        m = outbox.enqueue(channel="test_broken", recipient="x", payload={}, dedup_key="br-1")
        _deliver()
    finally:
        channels.unregister("test_broken")
    m.refresh_from_db()
    assert m.state == OutboxState.PENDING and "bug in a transport" in m.last_error
    assert OutboxEvent.objects.filter(message=m, to_state="pending").exists()


# --- rate limits ------------------------------------------------------------------

@pytest.mark.rule("N3c")
def test_a_channel_rate_limit_holds_across_claims(channel_env, frozen):
    channel_env["HOTLINE_FILE_RATE"] = "5"
    for i in range(12):
        outbox.enqueue(channel="file", recipient="demo", payload={}, dedup_key=f"rl-{i}")
    # Two senders (two workers) claiming in the same instant share 5 tokens.
    first, wait = outbox.claim(batch=50)
    second, wait2 = outbox.claim(batch=50)
    assert len(first) == 5 and second == [] and wait2 == pytest.approx(0.2)
    frozen.advance(seconds=0.4)
    third, _ = outbox.claim(batch=50)
    assert len(third) == 2
    frozen.advance(seconds=10)  # a full bucket holds one second's worth, no more
    fourth, _ = outbox.claim(batch=50)
    assert len(fourth) == 5
    assert OutboxMessage.objects.filter(state=OutboxState.SENDING).count() == 12


# --- the HTTP client's framing ------------------------------------------------------

def _raw_server(answers: list[bytes]):
    """A socket server that answers the n-th request with answers[n] (raw
    bytes) on one connection, closing it after the last."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    seen: list[bytes] = []

    def serve():
        conn, _ = server.accept()
        with conn:
            for answer in answers:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    buf += conn.recv(65536)
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
                while len(rest) < length:
                    rest += conn.recv(65536)
                seen.append(head)
                conn.sendall(answer)
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/in?x=1", seen


def test_chunked_and_close_delimited_answers_are_read(channel_env):
    channel_env["HOTLINE_WEBHOOK_ACK_FIELD"] = "receipt"
    url, seen = _raw_server([
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (b'{"receipt', b'": "r1"', b"}")) + b"0\r\n\r\n",
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"receipt\":\"r2\"}",
        b"HTTP/1.0 200 OK\r\n\r\n{\"receipt\": \"r3\"}",
    ])
    ms = [outbox.enqueue(channel="webhook", recipient=url, payload={}, dedup_key=f"frame-{i}") for i in range(3)]
    _deliver()
    for i, m in enumerate(ms, start=1):
        m.refresh_from_db()
        assert (m.state, m.ack) == (OutboxState.ACKNOWLEDGED, f"r{i}")
    # All three on one kept-alive connection, to the URL's path and query.
    assert len(seen) == 3 and all(h.startswith(b"POST /in?x=1 HTTP/1.1") for h in seen)


def test_nothing_can_split_a_request(channel_env):
    with pytest.raises(outbox.OutboxError) as err:
        outbox.enqueue(channel="webhook", recipient="http://127.0.0.1:1/", payload={}, dedup_key="a\r\nX-Evil: 1")
    assert err.value.field == "dedup_key"
    m = outbox.enqueue(channel="webhook", recipient="http://127.0.0.1:1/a b", payload={}, dedup_key="space-url")
    _deliver()
    m.refresh_from_db()
    assert m.state == OutboxState.FAILED and "接收方" in m.last_error


def test_hotline_check_warns_about_wrong_channel_settings(channel_env):
    from hotline.core.outbox.checks import outbox_settings

    assert outbox_settings() == []
    channel_env["HOTLINE_SMS_URL"] = "gateway.local/sms"
    channel_env["HOTLINE_OUTBOX_MAX_ATTEMPTS"] = "2.5"
    found = {w.msg.split(":")[0] for w in outbox_settings()}
    assert found == {"HOTLINE_SMS_URL", "HOTLINE_OUTBOX_MAX_ATTEMPTS"}
