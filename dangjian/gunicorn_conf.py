"""gunicorn's settings, read from the environment like every other setting (dangjian.env):
`gunicorn -c python:dangjian.gunicorn_conf dangjian.wsgi` (scripts/serve, docs/deploy.md).

Sync workers, one request at a time per process: with persistent database connections
(DANGJIAN_DB_CONN_MAX_AGE > 0) each process then holds exactly one connection, and the
connection count is the worker count (docs/operations.md). Long work goes to the job worker,
so a request never needs the long timeout a threaded server would.
"""
import os

from dangjian.env import env_int, env_str

bind = env_str("DANGJIAN_BIND", "127.0.0.1:8000").split(",")
# Two per core plus one is gunicorn's own advice; capped so a large machine does not open more
# database connections than PostgreSQL's default max_connections (100) comfortably allows.
workers = env_int("DANGJIAN_WEB_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8), 1)
threads = env_int("DANGJIAN_WEB_THREADS", 1, 1)
worker_class = "gthread" if threads > 1 else "sync"
if workers > 1 and env_str("DANGJIAN_CACHE_URL", "locmem").strip() in ("", "locmem"):
    # Cached figures are moved on by the process that writes: with a cache per process the
    # other workers would go on showing what was there before.
    raise SystemExit("多个网站进程必须共用缓存：请设置 DANGJIAN_CACHE_URL=db 或 redis://主机:端口/库号")
# A page that takes longer than this is killed and answered 502 by nginx: no page should come close.
timeout = env_int("DANGJIAN_WEB_TIMEOUT", 60, 5)
graceful_timeout = env_int("DANGJIAN_WEB_GRACEFUL_TIMEOUT", 30, 1)
keepalive = 5
# A worker is replaced after this many requests (with jitter, so not all at once): whatever a
# long-lived process accumulates is given back.
max_requests = env_int("DANGJIAN_WEB_MAX_REQUESTS", 2000, 0)
max_requests_jitter = max_requests // 10
# Uploads are read whole by Django (DANGJIAN_IMPORT_MAX_BYTES); nginx limits the body first.
limit_request_line = 8190
# The heartbeat files of the workers in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Only the reverse proxy on this machine may say which scheme and client it saw.
forwarded_allow_ips = env_str("DANGJIAN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "dangjian-web"
# gunicorn's control socket is one path per user (~/.gunicorn): two instances on a machine would
# share it. systemd's signals (reload, stop) are the control used here.
control_socket_disable = True

# Logs to stdout/stderr: systemd's journal keeps and rotates them (docs/deploy.md).
accesslog = env_str("DANGJIAN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = env_str("DANGJIAN_WEB_LOG_LEVEL", "info")
# The client as nginx saw it, the request, the status, the size and the time in microseconds
# (%(D)s): what a slow page or an attack is traced with. No query string cookies or bodies.
access_log_format = env_str(
    "DANGJIAN_ACCESS_LOG_FORMAT",
    '%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(B)s %(D)sus "%(f)s" "%(a)s"',
)

# The cyclic garbage collector, once the worker has loaded the application: what was loaded
# (Django, the apps, their modules) lives as long as the process and is moved out of the
# collector's sight, and the youngest generation is collected every 10,000 new objects instead
# of every 700. A page makes tens of thousands of short-lived objects that reference counting
# frees anyway; in-process, over the benchmark's walk, the collector's time fell by half.
GC_THRESHOLD = (10_000, 20, 50)


def post_worker_init(worker):
    import gc

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
