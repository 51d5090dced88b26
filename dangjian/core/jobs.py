"""Background jobs with a progress row the page polls.

"thread" mode runs the work in a daemon thread of the web process (one-machine
installs, `make demo`); "sync" runs it before the request returns (tests).
"""
import threading
import time
import traceback

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from .models import Job


class Progress:
    """Passed to the work function; writes at most a few updates a second."""

    def __init__(self, job: Job):
        self.job = job
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < 0.3 and done < total:
            return
        self._last = now
        Job.objects.filter(pk=self.job.pk).update(done=done, total=total, message=message[:200])


def _run(job_id: int, fn, args, kwargs) -> None:
    if settings.JOBS_MODE == "thread":
        # A fresh thread; in "sync" mode this is the request's own connection (possibly
        # inside a transaction), which must not be closed.
        close_old_connections()
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(status="running")
    try:
        result = fn(Progress(job), *args, **kwargs)
        Job.objects.filter(pk=job_id).update(status="done", result={**job.result, **(result or {})},
                                             finished_at=timezone.now())
    except Exception:  # the job row must say it failed; the traceback goes to the log
        traceback.print_exc()
        Job.objects.filter(pk=job_id).update(
            status="failed", message="处理过程中发生错误，请联系管理员查看日志", finished_at=timezone.now()
        )
    finally:
        if settings.JOBS_MODE == "thread":
            close_old_connections()


def start(kind: str, user, fn, *args, known: dict | None = None, **kwargs) -> Job:
    """Run `fn(progress, *args, **kwargs)` as a job. `known`: what the job's page can tell from
    the start (the uploaded file's name), kept in its result beside what the work returns."""
    job = Job.objects.create(kind=kind, user=user if user and user.is_authenticated else None, result=known or {})
    if settings.JOBS_MODE == "sync":
        _run(job.pk, fn, args, kwargs)
    else:
        threading.Thread(target=_run, args=(job.pk, fn, args, kwargs), daemon=True).start()
    return job
