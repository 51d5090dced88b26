"""Background jobs with a progress row the page polls.

`start(kind, user, fn, *args)` records a `Job` and has `fn(progress, *args)` run by the one task
of Django's Tasks API, `run_job`, in the mode `DANGJIAN_JOBS_MODE` names:

- "worker": enqueued on the database queue (django-tasks-db) and run by a separate
  `dangjian db_worker` process (production, `make serve`). The task row is written in the same
  transaction as the Job row, so a rolled-back request leaves no job behind and a worker never
  sees a job whose request has not committed.
- "thread": run in a daemon thread of the web process once the request's transaction commits
  (one-machine installs, `make demo`: no second process to start).
- "sync": run before `start` returns (tests).

In every mode `fn` must be a module-level function (the worker imports it by its dotted path)
and the arguments JSON values (the worker reads them back from a JSON column): both are checked
here, so a test in "sync" mode fails where the worker would.

A job whose process dies (a worker killed, a web process restarted under a thread) would stay
"running": while it runs its row gets a heartbeat, and `fail_stale` marks as failed the jobs whose
heartbeat is older than `DANGJIAN_JOBS_STALE_SECONDS`, and with it the task's queue row, which
django-tasks-db would leave "RUNNING" for ever. The queue does not retry such a task; the work
that must eventually be done (compliance marks, formalism years) is picked up again by its next
reader.
"""
import json
import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.tasks import task
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Job

log = logging.getLogger(__name__)

MODES = ("thread", "sync", "worker")
STALE_MESSAGE = "后台处理进程已停止，任务未完成，请重新提交"
FAILED_MESSAGE = "处理过程中发生错误，请联系管理员查看日志"
WORKER_LOST = "dangjian.core.jobs.WorkerLost"  # the queue row's "exception" when its worker died


def heartbeat_seconds() -> float:
    """How often a running job says it is alive: several times within the stale limit."""
    return max(1.0, min(30.0, settings.JOBS_STALE_SECONDS / 4))


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
        Job.objects.filter(pk=self.job.pk).update(done=done, total=total, message=message[:200],
                                                  heartbeat_at=timezone.now())


class _Heartbeat(threading.Thread):
    """Touches the job's row while the work runs, so that a job that stopped reporting progress
    (one long query) is not taken for a dead one. Its own connection, closed at the end."""

    def __init__(self, job_id: int):
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.job_id = job_id
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.wait(heartbeat_seconds()):
                try:
                    Job.objects.filter(pk=self.job_id, status="running").update(heartbeat_at=timezone.now())
                except Exception:  # a locked SQLite file: the next beat tries again
                    log.warning("job %s: heartbeat not written", self.job_id, exc_info=True)
        finally:
            # This thread's own connections (thread-local): closed, even when persistent
            # connections (DANGJIAN_DB_CONN_MAX_AGE) would otherwise keep them open after it ends.
            connections.close_all()


def dotted_path(fn) -> str:
    """Where the worker finds `fn`; refuses what it could not import (a lambda, a closure, a
    method), so the mistake shows where the job is started, in every mode."""
    path = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"
    try:
        found = import_string(path)
    except ImportError:
        found = None
    if found is not fn:
        raise ValueError(f"jobs.start needs a module-level function, not {fn!r}")
    return path


def _as_json(value):
    """The arguments as the worker receives them (tuples become lists); anything JSON cannot
    carry is refused here rather than in the queue."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as e:
        raise ValueError(f"job arguments must be JSON values: {e}") from None


@task
def run_job(job_id: int, fn_path: str, args: list, kwargs: dict) -> str:
    """The one task: run `fn(progress, *args, **kwargs)` and record the outcome on the Job row.
    The work's own failure is recorded there (and logged); the task itself succeeds."""
    threaded = settings.JOBS_MODE == "thread"
    if threaded:
        # A fresh thread; in "sync" mode this is the request's own connection (possibly inside a
        # transaction), which must not be closed; the worker manages its own.
        close_old_connections()
    beat = None
    try:
        job = Job.objects.get(pk=job_id)
        if job.status != "queued":  # already taken, or failed as stale before a worker came
            return job.status
        Job.objects.filter(pk=job_id).update(status="running", heartbeat_at=timezone.now())
        if settings.JOBS_MODE != "sync":
            beat = _Heartbeat(job_id)
            beat.start()
        try:
            result = import_string(fn_path)(Progress(job), *args, **kwargs)
        except Exception:  # the job row must say it failed; the traceback goes to the log
            log.exception("job %s (%s) failed", job_id, fn_path)
            Job.objects.filter(pk=job_id).update(status="failed", message=FAILED_MESSAGE,
                                                 finished_at=timezone.now())
            return "failed"
        # Unconditional: a job that was only slow and was marked stale meanwhile is done after all.
        Job.objects.filter(pk=job_id).update(status="done", result={**job.result, **(result or {})},
                                             finished_at=timezone.now())
        return "done"
    finally:
        if beat is not None:
            beat.stop.set()
            beat.join()
        if threaded:
            connections.close_all()  # this thread's own; the thread ends here


def start(kind: str, user, fn, *args, known: dict | None = None, **kwargs) -> Job:
    """Run `fn(progress, *args, **kwargs)` as a job. `known`: what the job's page can tell from
    the start (the uploaded file's name), kept in its result beside what the work returns."""
    call = (dotted_path(fn), _as_json(list(args)), _as_json(kwargs))
    mode = settings.JOBS_MODE
    with transaction.atomic():
        job = Job.objects.create(kind=kind, user=user if user and user.is_authenticated else None,
                                 result=known or {}, heartbeat_at=timezone.now())
        if mode == "worker":
            job.task_id = str(run_job.enqueue(job.pk, *call).id)
            job.save(update_fields=["task_id"])
    if mode == "sync":
        run_job.call(job.pk, *call)
        job.refresh_from_db()
    elif mode == "thread":
        # After the commit: the thread's own connection must find the Job row (and what the
        # request wrote for the work to read).
        transaction.on_commit(
            lambda: threading.Thread(target=run_job.call, args=(job.pk, *call), daemon=True).start())
    return job


def fail_stale(now=None, pks=None) -> int:
    """Mark as failed the jobs whose process is gone: running with no heartbeat for
    JOBS_STALE_SECONDS, or (outside "worker" mode, where the queue keeps them until a worker
    comes) never started; and, in "worker" mode, the queue's rows of the running ones, which a
    dead worker leaves "RUNNING". Returns how many jobs."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.JOBS_STALE_SECONDS)
    statuses = ["running"] if settings.JOBS_MODE == "worker" else ["running", "queued"]
    jobs = Job.objects.filter(status__in=statuses, heartbeat_at__lt=cutoff)
    if pks is not None:
        jobs = jobs.filter(pk__in=pks)
    with transaction.atomic():
        stale = list(jobs.select_for_update().values_list("pk", "task_id"))
        if not stale:
            return 0
        finished = timezone.now()
        Job.objects.filter(pk__in=[pk for pk, _ in stale]).update(
            status="failed", message=STALE_MESSAGE, finished_at=finished)
        tasks = [t for _, t in stale if t]
        if tasks:
            from django.tasks import TaskResultStatus
            from django_tasks_db.models import DBTaskResult

            DBTaskResult.objects.filter(id__in=tasks, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED, finished_at=finished, exception_class_path=WORKER_LOST,
                traceback=STALE_MESSAGE)
    return len(stale)


def alive(job: Job) -> Job:
    """The job as its page should show it: failed if its process is gone (see fail_stale)."""
    if job.status in ("queued", "running") and fail_stale(pks=[job.pk]):
        job.refresh_from_db()
    return job
