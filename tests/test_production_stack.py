"""The production stack: jobs on the database queue of Django's Tasks API run by a worker, the
stale-job check, the settings that choose the queue, the cache and the replica, the replica
router, and `scripts/serve` (gunicorn and the worker) started and stopped."""
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from dangjian.core import jobs, replica
from dangjian.core.models import Job
from dangjian.orgs.models import Organization

ROOT = Path(__file__).resolve().parent.parent


# The work of the test jobs: module-level, as the worker imports it by its dotted path.
def count_orgs(progress, prefix: str) -> dict:
    n = Organization.objects.filter(code__startswith=prefix).count()
    progress(1, 1, "已统计")
    return {"count": n}


def fail_on_purpose(progress) -> dict:
    raise RuntimeError("on purpose")


def run_worker_once() -> None:
    """The worker of `dangjian db_worker`, in this process: every task queued now, then return."""
    Worker(queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
           max_tasks=None, worker_id="test-worker", excluded_queue_names=[]).run()


@pytest.fixture
def worker_mode(settings, monkeypatch):
    settings.JOBS_MODE = "worker"
    # The worker closes a connection that is not in autocommit between tasks, as a separate
    # process must; here it shares the test's connection, inside the test's transaction.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    return settings


def test_a_job_goes_through_the_database_queue_and_a_worker_runs_it(tree, personas, worker_mode):
    job = jobs.start("count", personas["wc_admin"], count_orgs, "CZ", known={"asked": "CZ"})
    # Queued, not run: the request returns at once, the work waits for the worker.
    assert Job.objects.get(pk=job.pk).status == "queued"
    task = DBTaskResult.objects.get()
    assert task.task_path == "dangjian.core.jobs.run_job" and task.status == "READY"
    assert task.args_kwargs["args"] == [job.pk, "tests.test_production_stack.count_orgs", ["CZ"], {}]
    run_worker_once()
    job.refresh_from_db()
    assert job.status == "done" and job.result == {"asked": "CZ", "count": 2}
    assert (job.done, job.total, job.message) == (1, 1, "已统计") and job.finished_at is not None
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_failing_job_is_marked_failed_with_a_chinese_message(tree, worker_mode):
    job = jobs.start("boom", None, fail_on_purpose)
    run_worker_once()
    job.refresh_from_db()
    assert job.status == "failed" and job.message == "处理过程中发生错误，请联系管理员查看日志"


def test_a_rolled_back_request_leaves_neither_job_nor_task(tree, worker_mode):
    with pytest.raises(RuntimeError), transaction.atomic():
        jobs.start("count", None, count_orgs, "CZ")
        raise RuntimeError("the request failed after starting the job")
    assert not Job.objects.exists() and not DBTaskResult.objects.exists()


@pytest.mark.parametrize("mode", ["sync", "worker", "thread"])
def test_only_module_level_functions_and_json_arguments_are_accepted(tree, settings, mode):
    """Checked where the job is started in every mode, so a test run in "sync" mode fails where
    the worker would."""
    settings.JOBS_MODE = mode
    with pytest.raises(ValueError, match="module-level"):
        jobs.start("x", None, lambda progress: None)

    def local(progress):
        return None

    with pytest.raises(ValueError, match="module-level"):
        jobs.start("x", None, local)
    with pytest.raises(ValueError, match="JSON"):
        jobs.start("x", None, count_orgs, {1, 2})
    assert not Job.objects.exists() and not DBTaskResult.objects.exists()


def test_sync_mode_runs_the_same_task_inline(tree, settings):
    settings.JOBS_MODE = "sync"
    job = jobs.start("count", None, count_orgs, "JY")
    assert job.status == "done" and job.result == {"count": 2}
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_thread_mode_runs_the_job_after_the_commit_on_its_own_connection(settings):
    """`make demo`'s mode: the thread starts once the request's transaction commits (before, its
    own connection could not see the Job row) and the job's heartbeat thread stops with it."""
    from tests import factories

    factories.org(kind="working_committee", name="示例市直机关工委", code="WC")
    settings.JOBS_MODE = "thread"
    with transaction.atomic():
        job = jobs.start("count", None, count_orgs, "WC")
        time.sleep(0.3)
        assert Job.objects.get(pk=job.pk).status == "queued"  # not started inside the transaction
    deadline = time.monotonic() + 30
    while Job.objects.get(pk=job.pk).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    job.refresh_from_db()
    assert job.status == "done" and job.result == {"count": 1}
    deadline = time.monotonic() + 5
    while any(t.name == f"job-{job.pk}-heartbeat" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == f"job-{job.pk}-heartbeat" for t in threading.enumerate())


def test_a_job_whose_process_died_is_marked_failed_not_running_forever(tree, personas, client, worker_mode):
    settings = worker_mode
    settings.JOBS_STALE_SECONDS = 600
    old = timezone.now() - timedelta(seconds=601)
    dead = Job.objects.create(kind="import-members", user=personas["unit_admin_a"], status="running",
                              heartbeat_at=old)
    beating = Job.objects.create(kind="import-members", user=personas["unit_admin_a"], status="running",
                                 heartbeat_at=timezone.now())
    waiting = Job.objects.create(kind="import-members", user=personas["unit_admin_a"], status="queued",
                                 heartbeat_at=old)
    client.force_login(personas["unit_admin_a"])
    page = client.get(f"/exchange/jobs/{dead.pk}/").content.decode()
    assert "后台处理进程已停止，任务未完成，请重新提交" in page
    assert Job.objects.get(pk=dead.pk).status == "failed"
    # Only that job was looked at; the whole check leaves a beating job and, in worker mode, a
    # queued one (the queue keeps it until a worker comes).
    assert Job.objects.get(pk=beating.pk).status == "running"
    assert jobs.fail_stale() == 0
    assert set(Job.objects.values_list("pk", "status")) == {(dead.pk, "failed"), (beating.pk, "running"),
                                                            (waiting.pk, "queued")}
    # In thread mode nothing else would ever start a queued job whose process is gone.
    settings.JOBS_MODE = "thread"
    assert jobs.fail_stale() == 1 and Job.objects.get(pk=waiting.pk).status == "failed"


def test_the_queue_row_of_a_job_whose_worker_died_fails_with_it(tree, worker_mode):
    """A worker killed mid-job leaves its queue row "RUNNING"; when the job is found stale the
    row fails too (and so can be pruned), the other rows untouched."""
    worker_mode.JOBS_STALE_SECONDS = 600
    killed = jobs.start("count", None, count_orgs, "CZ")
    other = jobs.start("count", None, count_orgs, "JY")
    assert killed.task_id and killed.task_id != other.task_id
    # What a worker that took both and died leaves: the rows RUNNING, the jobs running.
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now())
    Job.objects.filter(pk=killed.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(seconds=601))
    Job.objects.filter(pk=other.pk).update(status="running", heartbeat_at=timezone.now())
    assert jobs.fail_stale() == 1
    row = DBTaskResult.objects.get(id=killed.task_id)
    assert (row.status, row.exception_class_path, row.traceback) == ("FAILED", jobs.WORKER_LOST, jobs.STALE_MESSAGE)
    assert row.finished_at is not None
    assert DBTaskResult.objects.get(id=other.task_id).status == "RUNNING"
    assert Job.objects.get(pk=other.pk).status == "running" and jobs.fail_stale() == 0


def test_a_job_taken_as_stale_that_finishes_after_all_is_done(tree, worker_mode):
    job = jobs.start("count", None, count_orgs, "CZ")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    assert jobs.fail_stale() == 0  # queued in worker mode: waits for the worker
    run_worker_once()
    assert Job.objects.get(pk=job.pk).status == "done"


def test_a_job_already_failed_as_stale_is_not_run_again(tree, worker_mode):
    job = jobs.start("count", None, count_orgs, "CZ")
    Job.objects.filter(pk=job.pk).update(status="failed", message=jobs.STALE_MESSAGE)
    run_worker_once()
    job.refresh_from_db()
    assert job.status == "failed" and "count" not in job.result


# ---- the replica router -------------------------------------------------------------------------

@pytest.fixture
def with_replica(settings, recwarn):
    # Only the router reads the setting here; no connection to the alias is opened.
    warnings.filterwarnings("ignore", "Overriding setting DATABASES", UserWarning)
    settings.DATABASES = {**settings.DATABASES, "replica": {**settings.DATABASES["default"]}}
    return settings


def test_without_a_replica_reports_change_nothing(db):
    assert not replica.configured()
    with replica.reports():
        assert Organization.objects.all().db == "default" and not replica.active()


def test_reads_inside_reports_go_to_the_replica_and_writes_never_do(with_replica):
    router = replica.ReplicaRouter()
    assert Organization.objects.all().db == "default"
    with replica.reports():
        assert replica.active() and Organization.objects.all().db == "replica"
        assert router.db_for_write(Organization) == "default"
        with replica.reports():
            pass
        assert Organization.objects.all().db == "replica"  # a nested use keeps the outer one
    assert Organization.objects.all().db == "default"
    obj = Organization(name="x")
    obj._state.db = "replica"  # as if read there: saving it must go to the primary
    assert router.db_for_write(Organization, instance=obj) == "default"
    assert router.allow_migrate("replica", "orgs") is False and router.allow_migrate("default", "orgs") is None


def test_a_report_function_decorated_reads_the_replica(with_replica):
    @replica.reports()
    def where():
        return Organization.objects.all().db

    assert where() == "replica" and Organization.objects.all().db == "default"


# ---- settings, the cache, the replica and `make serve` in their own processes --------------------

def run(tmp_path, env: dict, code: str) -> subprocess.CompletedProcess:
    """`code` under the production settings module with `env`, keys and data in tmp_path."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DANGJIAN_", "DJANGO_"))}
    full.update({"DJANGO_SETTINGS_MODULE": "dangjian.settings", "DANGJIAN_KEY_DIR": str(tmp_path / "keys"),
                 "DANGJIAN_VAR_DIR": str(tmp_path / "var")}, **env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


SETUP = "import django; django.setup(); from django.conf import settings as s; "


@pytest.mark.parametrize("name, value, message", [
    ("DANGJIAN_JOBS_MODE", "celery", "DANGJIAN_JOBS_MODE='celery' 无效：只能是 worker"),
    ("DANGJIAN_CACHE_URL", "memcached://x", "DANGJIAN_CACHE_URL='memcached://x' 无效"),
    ("DANGJIAN_JOBS_STALE_SECONDS", "abc", "DANGJIAN_JOBS_STALE_SECONDS='abc' 不是整数"),
    ("DANGJIAN_REPLICA_URL", "mysql://root@127.0.0.1/x", "必须是同一种数据库"),
])
def test_a_wrong_setting_stops_the_start_with_a_chinese_message(tmp_path, name, value, message):
    done = run(tmp_path, {name: value}, SETUP)
    assert done.returncode != 0 and "ImproperlyConfigured" in done.stderr and message in done.stderr


def test_a_worker_process_with_a_cache_of_its_own_is_refused(tmp_path):
    """The worker's writes move cached figures on in its own memory only: refused at start."""
    done = run(tmp_path, {"DANGJIAN_JOBS_MODE": "worker"}, SETUP)
    assert done.returncode != 0 and "缓存必须由各进程共用" in done.stderr
    shared = run(tmp_path, {"DANGJIAN_JOBS_MODE": "worker", "DANGJIAN_CACHE_URL": "db"},
                 SETUP + "print(s.CACHES['default']['OPTIONS']['MAX_ENTRIES'])")
    assert shared.returncode == 0 and shared.stdout.strip() == "100000", shared.stderr


def test_several_web_processes_with_a_cache_each_are_refused(tmp_path):
    code = "import dangjian.gunicorn_conf"
    done = run(tmp_path, {"DANGJIAN_WEB_WORKERS": "4"}, code)
    assert done.returncode != 0 and "多个网站进程必须共用缓存" in done.stderr
    assert run(tmp_path, {"DANGJIAN_WEB_WORKERS": "1"}, code).returncode == 0
    assert run(tmp_path, {"DANGJIAN_WEB_WORKERS": "4", "DANGJIAN_CACHE_URL": "db"}, code).returncode == 0


def test_a_web_worker_tunes_the_garbage_collector_once_loaded(tmp_path):
    code = ("import gc, dangjian.gunicorn_conf as g; before = gc.get_threshold(); g.post_worker_init(None); "
            "print(before, gc.get_threshold(), gc.get_freeze_count() > 0)")
    done = run(tmp_path, {"DANGJIAN_WEB_WORKERS": "1"}, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(700, 10, 10) (10000, 20, 50) True", done.stdout


def test_the_settings_choose_queue_cache_sessions_and_replica(tmp_path):
    show = SETUP + ("import json; print(json.dumps([s.JOBS_MODE, s.TASKS['default']['BACKEND'], "
                    "s.CACHES['default']['BACKEND'].rsplit('.', 1)[1], s.SESSION_ENGINE.rsplit('.', 1)[1], "
                    "sorted(s.DATABASES)]))")
    default = run(tmp_path, {}, show)
    assert default.stdout.strip() == ('["thread", "django_tasks_db.DatabaseBackend", "LocMemCache", "db", '
                                      '["default"]]'), default.stderr
    chosen = run(tmp_path, {"DANGJIAN_JOBS_MODE": "Worker", "DANGJIAN_CACHE_URL": "redis://127.0.0.1:6379/1",
                            "DANGJIAN_REPLICA_URL": f"sqlite:///{tmp_path / 'replica.sqlite3'}"}, show)
    assert chosen.stdout.strip() == ('["worker", "django_tasks_db.DatabaseBackend", "RedisCache", "cached_db", '
                                     '["default", "replica"]]'), chosen.stderr


def test_two_sqlite_databases_reports_read_the_replica_copy_and_migrate_makes_the_cache_table(tmp_path):
    """A real second database: the primary migrated (the cache table with it), copied as the
    replica, then changed; a report sees the copy, everything else the primary."""
    primary, copy = tmp_path / "primary.sqlite3", tmp_path / "replica.sqlite3"
    env = {"DANGJIAN_DATABASE_URL": f"sqlite:///{primary}", "DANGJIAN_CACHE_URL": "db"}
    migrated = run(tmp_path, env, "from dangjian.manage import main; main(['dangjian', 'migrate', '-v0'])")
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(primary) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'dangjian_cache'").fetchone() == (1,)
    with sqlite3.connect(primary) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    code = SETUP + """
from django.core.cache import cache
from dangjian.core import replica
from dangjian.orgs.models import Organization
cache.set("k", "缓存", 60)
Organization.objects.create(name="新建的组织", code="NEW", kind="working_committee")
with replica.reports():
    on_replica = Organization.objects.filter(code="NEW").count()
print(cache.get("k"), Organization.objects.filter(code="NEW").count(), on_replica)
"""
    done = run(tmp_path, {**env, "DANGJIAN_REPLICA_URL": f"sqlite:///{copy}"}, code)
    assert done.stdout.split() == ["缓存", "1", "0"], done.stderr


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_serve_starts_gunicorn_and_the_worker_and_stops_both_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DANGJIAN_", "DJANGO_"))}
    env.update({"DANGJIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DANGJIAN_BIND": f"127.0.0.1:{port}",
                "DANGJIAN_WEB_WORKERS": "1", "DANGJIAN_VAR_DIR": str(tmp_path / "var"),
                "DANGJIAN_KEY_DIR": str(tmp_path / "keys"), "DANGJIAN_BIN": str(Path(sys.executable).parent)})
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([str(ROOT / "scripts" / "serve")], env=env, cwd=ROOT, stdout=sink,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        status, deadline = None, time.monotonic() + 120
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as r:
                    status, body = r.status, r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert status == 200 and "登录" in body
        # The worker starts Django on its own, and on a loaded machine answers later than the web
        # server: Ctrl-C is pressed once both are up, as a person would after reading both lines.
        while "Starting worker" not in log.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out = log.read_text()
    assert proc.returncode == 0, out
    assert "Starting worker" in out and "Listening at" in out and "Shutting down: Master" in out
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left running


def test_a_redis_cache_url_caches_in_redis_and_sessions_read_it_first(tmp_path):
    """Against a real redis-server on a free loopback port (Debian's redis-server package)."""
    import shutil

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server 未安装（apt-get install redis-server）")
    port = free_port()
    redis = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = SETUP + """
import time
from django.core.cache import cache
from django.contrib.sessions.backends.cached_db import SessionStore
for _ in range(100):
    try:
        cache.set("k", "共享", 60)
        break
    except Exception:
        time.sleep(0.1)
s = SessionStore(); s["who"] = "张三"; s.create()
import os, redis
keys = redis.Redis.from_url(os.environ["DANGJIAN_CACHE_URL"]).keys("dangjian:*")
print(cache.get("k"), SessionStore(session_key=s.session_key)["who"], len(keys))
"""
        env = {"DANGJIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
               "DANGJIAN_CACHE_URL": f"redis://127.0.0.1:{port}/0"}
        migrated = run(tmp_path, env, "from dangjian.manage import main; main(['dangjian', 'migrate', '-v0'])")
        assert migrated.returncode == 0, migrated.stderr
        done = run(tmp_path, env, code)
        # The value and the session both in Redis (two keys under the prefix).
        assert done.stdout.split() == ["共享", "张三", "2"], done.stderr
    finally:
        redis.terminate()
        redis.wait(timeout=10)
