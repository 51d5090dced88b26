"""Deployment settings: `check --deploy` clean in production, plain http for the demo, no answer
holding personal data kept by a browser or proxy, sessions that end, database connections that
are not held open by default."""
import json
import os
import subprocess
import sys
import time

import pytest
from rest_framework.test import APIClient

from dangjian.core import privacy
from tests import factories


def run_settings(tmp_path, env: dict, code: str) -> subprocess.CompletedProcess:
    """`code` run with the production settings module (dangjian.settings) under `env`, with
    keys and data in tmp_path so nothing of the suite's or a working installation's is read."""
    # Nothing of the suite's own environment (DANGJIAN_*, or DJANGO_ALLOW_ASYNC_UNSAFE that the
    # browser tests set, which `check --deploy` rightly flags).
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DANGJIAN_", "DJANGO_"))}
    full.update({"DJANGO_SETTINGS_MODULE": "dangjian.settings", "DANGJIAN_KEY_DIR": str(tmp_path / "keys"),
                 "DANGJIAN_VAR_DIR": str(tmp_path / "var")}, **env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)


CHECK_DEPLOY = ("import django, sys; from django.core.management import call_command; django.setup(); "
                "call_command('check', deploy=True, fail_level='WARNING')")
PRINT_SETTINGS = ("import django, json; django.setup(); from django.conf import settings as s; "
                  "print(json.dumps({k: getattr(s, k, None) for k in ('SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
                  "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_PROXY_SSL_HEADER')} | "
                  "{'db': {k: s.DATABASES['default'][k] for k in ('CONN_MAX_AGE', 'CONN_HEALTH_CHECKS')}}))")


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    done = run_settings(tmp_path, {"DANGJIAN_PRODUCTION": "true", "DANGJIAN_ALLOWED_HOSTS": "dangjian.example.gov",
                                   "DANGJIAN_BEHIND_PROXY": "true"}, CHECK_DEPLOY)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout + done.stderr
    assert "WARNINGS" not in done.stdout + done.stderr


def test_production_turns_on_https_only_and_the_demo_stays_http(tmp_path):
    prod = json.loads(run_settings(tmp_path, {"DANGJIAN_PRODUCTION": "true", "DANGJIAN_BEHIND_PROXY": "true"},
                                   PRINT_SETTINGS).stdout)
    assert prod["SECURE_SSL_REDIRECT"] and prod["SESSION_COOKIE_SECURE"] and prod["CSRF_COOKIE_SECURE"]
    assert prod["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    dev = json.loads(run_settings(tmp_path, {}, PRINT_SETTINGS).stdout)
    assert not dev["SECURE_SSL_REDIRECT"] and not dev["SESSION_COOKIE_SECURE"] and not dev["SECURE_HSTS_SECONDS"]
    # The proxy's header is trusted only when the deployment says a proxy sets it.
    assert dev["SECURE_PROXY_SSL_HEADER"] is None


def test_database_connections_are_closed_after_each_request_by_default(tmp_path):
    url = {"DANGJIAN_DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}
    default = json.loads(run_settings(tmp_path, url, PRINT_SETTINGS).stdout)["db"]
    assert default == {"CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False}
    kept = json.loads(run_settings(tmp_path, url | {"DANGJIAN_DB_CONN_MAX_AGE": "60"}, PRINT_SETTINGS).stdout)["db"]
    assert kept == {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}


# ---- no-store ---------------------------------------------------------------------------------

def test_answers_with_personal_data_are_not_stored(personas, tree):
    web = factories.login(personas["unit_admin_a"])
    answers = {url: web.get(url) for url in ("/", "/members/", f"/members/{tree['ma'].pk}/",
                                             "/exchange/export/members.xlsx", f"/activities/org/{tree['a1'].pk}/")}
    answers["reveal"] = web.post(f"/members/{tree['ma'].pk}/reveal/")
    for url, response in answers.items():
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url
    api = APIClient()
    api.force_authenticate(personas["unit_admin_a"])
    for url in ("/api/members/", f"/api/members/{tree['ma'].pk}/", "/api/orgs/"):
        response = api.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == privacy.NO_STORE, url


def test_static_files_keep_their_cache_lifetime(client):
    response = client.get("/static/js/overview.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# ---- session timeout ------------------------------------------------------------------------

def _aged(client, **seconds_ago):
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_an_idle_session_ends_and_says_why(client, personas, settings):
    client.force_login(personas["unit_admin_a"])
    assert client.get("/members/").status_code == 200
    _aged(client, **{privacy.SEEN: settings.SESSION_IDLE_SECONDS - 30})
    assert client.get("/members/").status_code == 200  # still within the idle limit
    _aged(client, **{privacy.SEEN: settings.SESSION_IDLE_SECONDS + 1})
    response = client.get("/members/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert f"已超过 {settings.SESSION_IDLE_SECONDS // 60} 分钟没有操作" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_busy_session_still_ends_at_its_absolute_age(client, personas, settings):
    client.force_login(personas["unit_admin_a"])
    assert client.get("/members/").status_code == 200
    # Active a moment ago, but logged in longer ago than the session may last.
    _aged(client, **{privacy.SEEN: 5, privacy.STARTED: settings.SESSION_COOKIE_AGE + 1})
    response = client.get("/members/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_session_cookie_ends_with_the_browser(client, personas):
    from tests.factories import PASSWORD
    response = client.post("/accounts/login/", {"username": "unita", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert not cookie["max-age"] and not cookie["expires"]
