"""The API against its own schema: schemathesis generates requests for every operation of
/api/schema/ (a few examples each, a fixed seed) as a 工委 staff member and as a unit admin,
and every answer must be no server error, with a status code, content type and body the
schema documents. Deselect locally with `-m "not schemathesis"`."""
import time
from collections import Counter

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.schemathesis
# The project's WSGI handler without dangjian/wsgi.py's start-up key check, which reads the
# database before the test has one.
application = get_wsgi_application()

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per role: 30 examples of each operation, 20-25 s for 44 operations on an idle 2-core machine.
# The time is printed, not asserted: a loaded machine would fail a sound API.
EXAMPLES = 30


@pytest.fixture
def wsgi_in_test_transaction():
    """The WSGI app called in this thread shares the test's connection and transaction; the
    handler's signals would close that connection at each request (Django's own test client
    disconnects them the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    errors = []

    def keep(sender, request=None, **kwargs):
        import sys
        import traceback

        errors.append(f"{request.method} {request.get_full_path()}\n{''.join(traceback.format_exception(*sys.exc_info()))}")

    got_request_exception.connect(keep, weak=False)
    yield errors
    got_request_exception.disconnect(keep)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _probe(user) -> tuple[Counter, list[str], int]:
    """Runs every operation; returns the statuses seen, the failures and the requests sent."""
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=headers)
    statuses, failures, sent = Counter(), [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        # Valid requests, then requests that break the schema on purpose (each must be refused, not crash).
        cases = operation.as_strategy() | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)

        @given(case=cases)
        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            nonlocal sent
            sent += 1
            response = case.call(headers=headers, app=application)
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Failure, FailureGroup) as exc:
                found = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
                for f in found:
                    failures.append(f"{case.operation.label}: {f.title} — {case.method} {case.formatted_path} "
                                    f"{case.query or ''} → {response.status_code}\n{f.message[:600]}")

        run()
    return statuses, failures, sent


@pytest.mark.parametrize("persona", ["wc_admin", "unit_admin_a"])
def test_api_conforms_to_its_schema(personas, city, persona, wsgi_in_test_transaction):
    started = time.monotonic()
    statuses, failures, sent = _probe(personas[persona])
    elapsed = time.monotonic() - started
    print(f"{persona}: {sent} requests in {elapsed:.1f} s, statuses {dict(sorted(statuses.items()))}")
    assert not wsgi_in_test_transaction, "\n\n".join(wsgi_in_test_transaction[:3])
    assert sum(n for s, n in statuses.items() if s >= 500) == 0
    # Distinct failures once each, so the report names every kind of mismatch.
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(dict.fromkeys(failures))
    assert sent >= 20
