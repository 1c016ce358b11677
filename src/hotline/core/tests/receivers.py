"""Real receivers for the outbox tests: an HTTP server and an SMTP server on
127.0.0.1 (ephemeral ports), in threads of the test process."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpReceiver:
    """Records every request; processes each Idempotency-Key once (as a
    receiver that honours the key does) and answers a repeat like the first.

    ``fail_first``: the first N requests get ``fail_status``;
    ``status``: the answer to every request (a permanent refusal: 400, 410);
    ``sleep_first``: the first request of each key is processed, then the
    answer waits this long (longer than the sender's timeout);
    ``block``: while this event is clear, requests are processed and then
    held without an answer (a sender killed mid-send);
    ``fail_keys``: per Idempotency-Key, the statuses of its first requests
    (``{"k": [503]}``: the first 503, the next as usual), not processed;
    ``delay``: seconds to hold each answer after processing, from the key
    (``lambda key: …``): a slow receiver, so concurrent senders overlap."""

    def __init__(self, *, fail_first: int = 0, fail_status: int = 503, status: int = 200, sleep_first: float = 0.0,
                 block: threading.Event | None = None, answer: dict | None = None,
                 fail_keys: dict[str, list[int]] | None = None, delay=None):
        self.fail_first, self.fail_status, self.status = fail_first, fail_status, status
        self.sleep_first, self.block, self.answer = sleep_first, block, answer
        self.fail_keys = {k: list(v) for k, v in (fail_keys or {}).items()}
        self.delay = delay
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.processed: dict[str, dict] = {}
        self.held = threading.Event()  # a request is being held (block)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the channels use it

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key", "")
                with receiver.lock:
                    receiver.requests.append({"key": key, "path": self.path, "headers": dict(self.headers),
                                              "body": body, "at": time.monotonic(), "client": self.client_address})
                    n = len(receiver.requests)
                    planned = receiver.fail_keys.get(key)
                    planned = planned.pop(0) if planned else None
                    failing = planned is None and n <= receiver.fail_first
                    first = (planned is None and not failing and receiver.status < 300
                             and key not in receiver.processed)
                    if first:
                        receiver.processed[key] = json.loads(body or b"{}")
                if planned is not None:
                    return self._answer(planned, {"error": "planned"})
                if failing:
                    extra = {"Retry-After": "120"} if receiver.fail_status == 429 else {}
                    return self._answer(receiver.fail_status, {"error": "try later"}, extra)
                if receiver.block is not None and not receiver.block.is_set():
                    receiver.held.set()
                    receiver.block.wait(60)
                    return self._answer(200, receiver.answer or {})
                if first and receiver.sleep_first:
                    time.sleep(receiver.sleep_first)
                if receiver.delay is not None:
                    time.sleep(receiver.delay(key))
                self._answer(receiver.status, receiver.answer or {} if receiver.status < 300 else {"error": "no"})

            def _answer(self, status, document, extra=None):
                data = json.dumps(document).encode()
                try:
                    self.send_response(status)
                    for name, value in (extra or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender is gone (timed out or killed)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.block is not None:
            self.block.set()
        self.server.shutdown()
        self.server.server_close()

    def requests_for(self, key: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["key"] == key]


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1: keeps every mail; refuses recipients at
    ``refuse_domain`` with 550 (a bad address)."""

    def __init__(self, *, refuse_domain: str = "invalid.example"):
        from aiosmtpd.controller import Controller

        self.mails: list[dict] = []
        receiver = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.endswith("@" + refuse_domain):
                    return "550 5.1.1 mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                import email

                msg = email.message_from_bytes(envelope.original_content or envelope.content)
                receiver.mails.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": msg})
                return "250 Message accepted for delivery"

        import socket

        with socket.socket() as s:  # a free port (aiosmtpd checks it is up by connecting)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
