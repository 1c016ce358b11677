import datetime as dt

import pytest

from hotline.core import jobs
from hotline.core.models import Job, JobStatus


RUNS: list = []  # every handler call, across threads


@jobs.handler("test.echo")
def _echo(params: dict, actor) -> dict:
    RUNS.append(params["x"])
    return {"echo": params["x"], "by": actor.username if actor else None}


@jobs.handler("test.fail")
def _fail(params: dict, actor) -> dict:
    raise ValueError("没有足够的座席")


@pytest.mark.django_db
def test_a_job_runs_once_and_keeps_its_result(world, frozen):
    job = jobs.enqueue(kind="test.echo", params={"x": 7}, actor=world.leader)
    assert job.status == JobStatus.QUEUED and job.created_at == frozen()
    done = jobs.run_next()
    assert done.pk == job.pk
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.result == {"echo": 7, "by": world.leader.username}
    assert job.attempts == 1 and job.finished and job.lease_until is None
    assert jobs.run_next() is None  # nothing left


@pytest.mark.django_db
def test_a_failing_job_records_why(world):
    job = jobs.enqueue(kind="test.fail", params={}, actor=None)
    jobs.run_next()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "没有足够的座席"


@pytest.mark.django_db
def test_unknown_kinds_are_refused_at_the_door(world):
    with pytest.raises(ValueError):
        jobs.enqueue(kind="nope", params={})
    # …and a row that names a handler no longer there fails, not loops.
    job = Job.objects.create(kind="gone", params={}, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    jobs.run_next()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "gone" in job.error


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_taken_again_then_given_up(world, frozen):
    job = jobs.enqueue(kind="test.echo", params={"x": 1})
    claimed = jobs.claim_next()  # …and the worker dies here
    assert claimed.pk == job.pk and claimed.status == JobStatus.RUNNING
    assert jobs.claim_next() is None  # still leased
    for attempt in (2, 3):
        frozen.advance(seconds=jobs.lease_seconds() + 1)
        again = jobs.claim_next()
        assert again.pk == job.pk and again.attempts == attempt
    frozen.advance(seconds=jobs.lease_seconds() + 1)
    assert jobs.claim_next() is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "3" in job.error


@pytest.mark.django_db(transaction=True)
def test_the_worker_thread_runs_queued_jobs(world):
    import time

    job = jobs.enqueue(kind="test.echo", params={"x": "线程"})
    thread = jobs.JobThread(idle_seconds=0.05)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.finished:
                break
            time.sleep(0.05)
    finally:
        thread.stopping.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert job.status == JobStatus.DONE and job.result["echo"] == "线程"


@pytest.mark.django_db(transaction=True)
def test_two_worker_threads_share_the_queue_and_run_each_job_once(world):
    import time

    RUNS.clear()
    queued = [jobs.enqueue(kind="test.echo", params={"x": i}).pk for i in range(30)]
    threads = [jobs.JobThread(idle_seconds=0.05) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Job.objects.filter(pk__in=queued, status=JobStatus.DONE).count() < 30:
            time.sleep(0.1)
    finally:
        for t in threads:
            t.stopping.set()
        for t in threads:
            t.join(timeout=20)
    done = list(Job.objects.filter(pk__in=queued).values_list("status", "attempts", "result"))
    assert len(done) == 30 and all(s == JobStatus.DONE and a == 1 for s, a, _ in done)
    assert sorted(r["echo"] for _, _, r in done) == list(range(30))
    assert sorted(RUNS) == list(range(30))  # no job ran twice
