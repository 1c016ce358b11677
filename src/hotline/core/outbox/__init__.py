"""The durable outbox: everything that leaves the building (SMS, mail,
webhooks, partner feedback) is a message written in the transaction of the
event that caused it, and sent later by a worker, once per de-duplication
key. See ``services`` (writing, retry, discard) and ``delivery`` (sending)."""

from hotline.core.outbox.services import (  # noqa: F401
    OutboxError,
    acknowledge,
    backoff_seconds,
    discard,
    enqueue,
    enqueue_many,
    hurry_older,
    retry,
)

from hotline.core.outbox.delivery import (  # noqa: F401
    claim,
    deliver,
    deliver_round,
    delivery_task,
    due_exists,
    record,
    release,
    send,
)
