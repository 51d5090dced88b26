"""Every URL of the project, tried by a user of another subtree.

The URL resolver is walked as a whole (includes, the API router, whatever is added later),
so a new page or endpoint is covered without touching this file — unless it takes a path
argument this file does not know yet: then the test fails and names it, and the argument
must be mapped below to an object of the tree fixture.

The user is unitb (单位党务管理员 of 市教育局, "JY"). The other subtree is 市财政局 ("CZ"):
its org CZ01, its member 李明, its committee seat, its term, its import job.
- A URL naming an object of the other subtree answers 404 to GET and POST (or 405 when
  the method is refused for any object, existing or not), for the web session and, under
  /api/, for the API token alike. The same URL with unitb's own object must not be 404, so
  a wrong mapping cannot make the test pass by itself.
- A URL without arguments (lists, exports, the API root) never shows the other subtree's
  names or codes, even when asked for them by query parameters.
- The Django admin (staff only) sends unitb to its login page.
"""
import datetime as dt
import io
from collections.abc import Iterator

import docx
import openpyxl
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dangjian.activities import services as activity_services
from dangjian.activities.models import ActivityRule
from dangjian.assessment import services as assessment_services
from dangjian.assessment.models import Admonition, Run, TargetScore
from dangjian.core.models import Job
from dangjian.inspections import services as inspection_services
from dangjian.orgs import services as org_services
from dangjian.ratings import services as ratings_services
from dangjian.rectification import services as item_services
from dangjian.rectification.models import ItemFile
from dangjian.reviews import services as review_services
from dangjian.transfers import services as transfer_services
from tests import factories

# What must never reach unitb: names and codes of the other subtree. (Not the bare code
# "CZ01": the import templates use it as their example.)
FORBIDDEN = ("李明", "诸葛青云", "财政局第一党支部", "市财政局机关党委", "财政局机关青年党小组", "QX9301")
# Query parameters that ask list pages for the other subtree outright, without repeating
# any forbidden word (pages may echo what was searched for).
PROBES = ("?q=李&org=CZ&under=CZ&code=CZ&parent=CZ", "?q=zhuge&status=all&category=full&is_leader=1")
MISSING_PK = 10**9

# Path arguments naming an object, by name. "pk" depends on the URL: see PK_BY_PREFIX.
OBJECT_ARGS = {
    "org_pk": "org", "org_id": "org",
    "member_pk": "member", "member_id": "member",
    "seat_pk": "seat", "seat_id": "seat",
    "term_pk": "term", "term_id": "term",
    "job_pk": "job", "job_id": "job",
    "bulk_job_pk": "bulk_job",
    "step_id": "devstep",
}
# "pk" by the longest matching URL prefix.
PK_BY_PREFIX = {
    "orgs/": "org",
    "members/": "member",
    "exchange/jobs/": "job",
    "activities/": "activity",
    "activities/rules/": "rule",
    "activities/attachments/": "attachment",
    "assessment/runs/": "run",
    "assessment/schemes/": "scheme",
    "assessment/admonitions/": "admonition",
    "ratings/weak/": "weak",
    "api/orgs/": "org",
    "api/members/": "member",
    "api/activities/": "activity",
    "reviews/": "review",
    "reviews/reports/": "report",
    "commendations/decisions/": "decision",
    "api/commendations/": "decision",
    "items/": "item",
    "feedback/": "feedback",
    "feedback/mine/": "feedback",
    "feedback/visits/": "visit",
    "api/feedback/": "feedback",
    "api/visits/": "visit",
    "inspections/": "inspection",
    "inspections/targets/": "target",
    "api/inspections/": "inspection",
    "items/files/": "item_file",
    "api/items/": "item",
    "dues/payments/": "payment",
    "api/dues/payments/": "payment",
    "development/": "applicant",
    "development/documents/": "devstep",
    "api/applicants/": "applicant",
    "transfers/": "transfer",
    "api/transfers/": "transfer",
    "api/standing/": "standing",
}
# Arguments that name no object: fixed values.
PLAIN_ARGS = {"kind": "members", "step": "accept", "action": "lost"}
# Objects of no subtree: the working committee's frequency rules bind the whole tree. Every
# user reads them through the views named here; every other URL naming one (the change form)
# is the working committee's own and must answer unitb 404, while its "own" check is made as
# the owner named in the world fixture.
SHARED = {"rule", "scheme"}
READ_BY_ALL = {"activities:rule", "assessment:scheme"}
# Shared objects an inspection team works on, inside its own scope: the 考核组评分 of a scheme
# shows and takes the inspector's own targets only.
INSPECTED = {"assessment:manual"}


def iter_patterns(resolver=None, prefix="") -> Iterator[tuple[str, URLPattern]]:
    """(full regex without the leading ^, pattern) for every endpoint, through includes."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        regex = p.pattern.regex.pattern.removeprefix("^")
        if isinstance(p, URLResolver):
            yield from iter_patterns(p, prefix + regex)
        else:
            yield prefix + regex, p


def is_static(regex: str, pattern: URLPattern) -> bool:
    module = getattr(pattern.callback, "__module__", "")
    return module in ("django.views.static", "django.contrib.staticfiles.views") or regex.startswith(
        settings.STATIC_URL.strip("/") + "/"
    )


def object_kind(regex: str, arg: str) -> str | None:
    if arg in OBJECT_ARGS:
        return OBJECT_ARGS[arg]
    if arg == "pk":
        prefixes = [p for p in PK_BY_PREFIX if regex.startswith(p)]
        return PK_BY_PREFIX[max(prefixes, key=len)] if prefixes else None
    return None


def build_url(regex: str, pattern: URLPattern, values: dict) -> str | None:
    """The URL of `pattern` with `values`, checked to resolve back to the same view."""
    for template, params in normalize(regex):
        if set(params) - set(values) - {"format"}:
            continue
        for fmt in ("json", ".json"):
            url = "/" + template % {**values, "format": fmt}
            try:
                match = resolve(url.split("?")[0])
            except Resolver404:
                continue
            if match.func is pattern.callback:
                return url
    return None


def endpoints() -> list[tuple[str, URLPattern]]:
    return [(rx, p) for rx, p in iter_patterns() if not rx.startswith("admin/") and not is_static(rx, p)]


def text_of(response) -> str:
    """What a reader would see: the body as text, every cell of a workbook, every paragraph of a document."""
    ctype = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if "wordprocessingml" in ctype:
        return "\n".join(p.text for p in docx.Document(io.BytesIO(body)).paragraphs)
    if "spreadsheetml" in ctype or body[:2] == b"PK":
        wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    return body.decode("utf-8", "replace")


@pytest.fixture
def world(tree, personas, settings, tmp_path):
    """Objects of both subtrees, by kind: (the other subtree's, unitb's own); for a shared
    kind the same object twice, with the user who owns it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    day = dt.date(2023, 5, 1)
    cell = factories.org(tree["a1"], kind="cell", name="财政局机关青年党小组", code="QX9301")
    factories.member(cell, name="诸葛青云", is_leader=True)
    seats = [org_services.fill_seat(None, tree[o], "secretary", tree[m], day) for o, m in (("a1", "ma"), ("b1", "mb"))]
    terms = [org_services.set_current_term(None, tree[o], day, dt.date(2026, 5, 1)) for o in ("a1", "b1")]
    jobs = [
        Job.objects.create(kind="import-members", status="done", user=personas[u])
        for u in ("unit_admin_a", "unit_admin_b")
    ]
    activities = [activity_services.record_activity(None, tree[o], ["theme_day"], day, topic="主题党日")
                  for o in ("a1", "b1")]
    attachments = [activity_services.add_attachment(None, a, SimpleUploadedFile("签到表.pdf", b"%PDF-1.4 sheet",
                                                                                "application/pdf"))
                   for a in activities]
    rule = ActivityRule.objects.get(code="theme_day")
    # each unit's own rectification item for its branch
    items = [item_services.open_item(None, org=tree[f"{o}1"], issuer=tree[o], title="党课记录不全", source="manual",
                                     deadline=dt.date(2023, 6, 30), opened_on=day, today=day) for o in ("a", "b")]
    item_files = [ItemFile(item=i, name="整改报告.pdf", size=8, content_type="application/pdf") for i in items]
    for f in item_files:
        f.file.save("report.pdf", ContentFile(b"%PDF-1.4"), save=True)
    reviews = [review_services.create_review(None, tree[o], 2023, "述职评议") for o in ("a", "b")]
    reports = [review_services.submit_report(None, r, tree[o], tree[m], text="本年度抓基层党建工作的情况。" * 10)
               for r, o, m in zip(reviews, ("a1", "b1"), ("ma", "mb"))]
    # Runs: unitb's branch is a target of one made now; the other assessed only 财政局's branch
    # (as a run made before 教育局's branch existed would have).
    scheme = assessment_services.create_scheme(None, code="B2023", name="2023 年考核方案", year=2023, level="branch")
    assessment_services.save_indicators(None, scheme, [dict(category="作风建设", name="党建与业务融合", weight=100,
                                                             method="manual", max_score=10)])
    factories.score_manual(scheme, "2023-05", score=0, comment="未见成效")  # a final run: it admonishes
    own_run = assessment_services.run_evaluation(None, scheme, "2023-05", today=dt.date(2023, 6, 15))
    other_run = Run.objects.create(scheme=scheme, period="2023-04", cycle="monthly", period_start=dt.date(2023, 4, 1),
                                   period_end=dt.date(2023, 4, 30), target_count=1)
    TargetScore.objects.create(run=other_run, org=tree["a1"], total=0, grade="poor", place=1, breakdown=[])
    # Each unit's own inspection of its branch, visited, with a finding.
    inspections = [inspection_services.create_inspection(
        None, title="支部督查", kind="daily", unannounced=False, issuer=tree[o], starts_on=day, ends_on=day,
        targets=[tree[f"{o}1"]]) for o in ("a", "b")]
    targets = [i.targets.get() for i in inspections]
    for t in targets:
        inspection_services.record_visit(None, t, visited_on=day, today=day)
        inspection_services.record_findings(None, t, [{"item": None, "text": "记录不全", "list": "problem"}])
    return {
        "user": personas["unit_admin_b"],
        # 教育局's inspection team: views and inspects unitb's subtree, edits nothing.
        "inspector": factories.user("inspector", tree["b"], username="inspectorb"),
        "owners": {"rule": personas["wc_admin"], "scheme": personas["wc_admin"]},
        "objects": {
            "org": (tree["a1"].pk, tree["b1"].pk),
            "member": (tree["ma"].pk, tree["mb"].pk),
            "seat": (seats[0].pk, seats[1].pk),
            "term": (terms[0].pk, terms[1].pk),
            "job": (jobs[0].pk, jobs[1].pk),
            "activity": (activities[0].pk, activities[1].pk),
            "attachment": (attachments[0].pk, attachments[1].pk),
            "rule": (rule.pk, rule.pk),
            "review": (reviews[0].pk, reviews[1].pk),
            "report": (reports[0].pk, reports[1].pk),
            "run": (other_run.pk, own_run.pk),
            "scheme": (scheme.pk, scheme.pk),
            # the run's manual indicator is scored 0: both branches fall below the line
            "admonition": tuple(Admonition.objects.get(run=own_run, org=tree[o]).pk for o in ("a1", "b1")),
            "weak": tuple(ratings_services.identify_weak(None, tree[o], identified_on=day, reasons="组织生活不正常").pk
                          for o in ("a1", "b1")),
            # each unit's own 表彰决定 honouring its branch and its member, published
            "decision": tuple(factories.decision(tree[o], entries=[("advanced_org", tree[f"{o}1"]),
                                                                   ("excellent_member", tree[m])], publish=True).pk
                              for o, m in (("a", "ma"), ("b", "mb"))),
            "item": tuple(i.pk for i in items),
            # each item's evidence file, served through the item's scoping
            "item_file": tuple(f.pk for f in item_files),
            # an applicant of each branch, the application form uploaded
            **_applicants(tree, day),
            # a complaint about each branch, sent by that unit's officer (so unitb finds its own
            # in 我的意见建议), and a visit of each branch
            "feedback": tuple(factories.feedback(tree[f"{o}1"], user=personas[f"unit_admin_{o}"]).pk for o in "ab"),
            "visit": tuple(factories.visit(tree[f"{o}1"], [tree[m]]).pk for o, m in (("a", "ma"), ("b", "mb"))),
            "inspection": (inspections[0].pk, inspections[1].pk),
            "target": (targets[0].pk, targets[1].pk),
            # each branch member's payment of a month's dues
            "payment": tuple(factories.dues_paid(tree[m], [202302], today=day)[0].pk
                             for m in ("ma", "mb") if factories.dues_base(tree[m], since=dt.date(2023, 1, 1), today=day)),
            # each unit's officer's own bulk transfer job
            "bulk_job": tuple(Job.objects.create(kind="transfers-bulk", status="done", user=personas[u],
                                                 result={"ok": True, "summary": "已转接"}).pk
                              for u in ("unit_admin_a", "unit_admin_b")),
            # each unit's own letter, from its branch to a new branch of the same unit
            "transfer": tuple(transfer_services.issue(None, member=tree[m], to_org=factories.org(tree[o], code=f"{o.upper()}X9"),
                                                      letter_number="转字〔2023〕1号", issued_on=day).pk
                              for o, m in (("a", "ma"), ("b", "mb"))),
            # each unit's member registered lost, a standing record read from the member's side
            "standing": tuple(transfer_services.register_lost(None, tree[m], lost_since=day, efforts="电话未接通",
                                                              today=day).pk for m in ("ma", "mb")),
        },
    }


def _applicants(tree, day) -> dict:
    made = [factories.applicant(tree[o], name=f"申请人{o}", applied_on=day, today=day,
                                document=SimpleUploadedFile("入党申请书.pdf", b"%PDF-1.4 letter", "application/pdf"))
            for o in ("a1", "b1")]
    return {"applicant": tuple(a.pk for a in made),
            "devstep": tuple(a.steps.get(code="apply").pk for a in made)}


def clients(user, url: str):
    """A web session; under /api/ also an API token."""
    web = Client()
    web.force_login(user)
    yield "session", web
    if url.startswith("/api/"):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        yield "token", api


def call(client, method: str, url: str):
    if isinstance(client, APIClient) and method == "post":
        return client.post(url, {}, format="json")
    return getattr(client, method)(url)


def leaks(text: str) -> list[str]:
    return [w for w in FORBIDDEN if w in text]


def test_walk_sees_every_part_of_the_site():
    """Guards the walk itself: if it stopped descending into includes, every other test
    here would pass without trying anything."""
    regexes = [rx for rx, _ in endpoints()]
    for expected in ("orgs/(?P<pk>", "members/(?P<pk>", "api/orgs/(?P<pk>", "api/members/(?P<pk>", "api/orgs/$"):
        assert any(rx.startswith(expected) for rx in regexes), expected
    assert len(regexes) > 30


def test_every_path_argument_is_mapped():
    unknown = {}
    for regex, pattern in endpoints():
        names = set(pattern.pattern.regex.groupindex) - {"format"}
        missing = sorted(n for n in names if n not in PLAIN_ARGS and object_kind(regex, n) is None)
        if missing:
            unknown[regex] = missing
    assert not unknown, (
        "URL arguments this test does not know (map them in OBJECT_ARGS, PK_BY_PREFIX or PLAIN_ARGS "
        f"of tests/test_scoping_all_urls.py): {unknown}"
    )


@pytest.mark.parametrize("who", ["user", "inspector"])
def test_objects_of_another_subtree_answer_404(world, who):
    """As unitb's officer, and as unitb's inspector (who edits nothing: their own objects' write
    pages are theirs to be refused, so only the officer checks the own object is reachable)."""
    user, objects = world[who], world["objects"]
    check_own = who == "user"
    failures, tried = [], 0
    for regex, pattern in endpoints():
        names = set(pattern.pattern.regex.groupindex) - {"format"}
        kinds = {n: object_kind(regex, n) for n in names if n not in PLAIN_ARGS}
        if not kinds or None in kinds.values():
            continue  # no object argument; unmapped ones fail test_every_path_argument_is_mapped
        plain = {n: PLAIN_ARGS[n] for n in names if n in PLAIN_ARGS}
        urls = {
            which: build_url(regex, pattern, {**plain, **{n: objects[k][i] for n, k in kinds.items()}})
            for i, which in enumerate(("other", "own"))
        }
        urls["missing"] = build_url(regex, pattern, {**plain, **{n: MISSING_PK for n in kinds}})
        if None in urls.values():
            failures.append(f"{regex}: cannot build a URL that resolves back to this pattern")
            continue
        tried += 1
        shared = set(kinds.values()) & SHARED
        if shared:
            failures += check_shared(world, urls, shared, user)
            continue
        for how, client in clients(user, urls["other"]):
            for method in ("get", "post"):
                try:
                    r = call(client, method, urls["other"])
                    missing = call(client, method, urls["missing"])
                except Exception as exc:  # a server error is a failure too, with its cause
                    failures.append(f"{method.upper()} {urls['other']} ({how}): {exc!r}")
                    continue
                same_as_missing = r.status_code == missing.status_code == 405
                shown = leaks(text_of(r))
                if r.status_code != 404 and not same_as_missing:
                    failures.append(f"{method.upper()} {urls['other']} ({how}): {r.status_code}, expected 404")
                elif shown:
                    failures.append(f"{method.upper()} {urls['other']} ({how}): shows {shown}")
            # The same URL with unitb's own object must be reachable, or the mapping is wrong.
            if not check_own:
                continue
            try:
                own = call(client, "get", urls["own"])
            except Exception as exc:
                failures.append(f"GET {urls['own']} ({how}, own object): {exc!r}")
                continue
            shown = leaks(text_of(own))
            if own.status_code == 404 or own.status_code >= 500:
                failures.append(
                    f"GET {urls['own']} ({how}, own object): {own.status_code}; "
                    "is the argument mapped to the right object?"
                )
            elif shown:
                failures.append(f"GET {urls['own']} ({how}, own object): shows {shown}")
    assert tried > 10
    assert not failures, "\n".join(failures)


def check_shared(world, urls: dict, kinds: set, user) -> list[str]:
    """A URL naming a shared object: read by everyone through READ_BY_ALL views, and by an
    inspector through INSPECTED ones (without a leak), otherwise 404 to unitb (GET and POST)
    and reachable by the object's owner."""
    failures = []
    url = urls["other"]
    web = Client()
    web.force_login(user)
    view = resolve(url.split("?")[0]).view_name
    if view in READ_BY_ALL or (view in INSPECTED and user.roles.filter(role="inspector").exists()):
        r = web.get(url)
        if r.status_code != 200:
            failures.append(f"GET {url} (shared, read by all): {r.status_code}, expected 200")
        elif leaks(text_of(r)):
            failures.append(f"GET {url} (shared): shows {leaks(text_of(r))}")
        return failures
    for method in ("get", "post"):
        r = call(web, method, url)
        if r.status_code != 404:
            failures.append(f"{method.upper()} {url} (shared, not staff): {r.status_code}, expected 404")
    (kind,) = kinds
    owner = Client()
    owner.force_login(world["owners"][kind])
    r = owner.get(urls["own"])
    if r.status_code == 404 or r.status_code >= 500:
        failures.append(f"GET {urls['own']} (as the owner of the {kind}): {r.status_code}; "
                        "is the argument mapped to the right object?")
    return failures


@pytest.mark.parametrize("who", ["user", "inspector"])
def test_pages_without_arguments_show_nothing_of_another_subtree(world, who):
    user = world[who]
    failures, tried = [], 0
    for regex, pattern in endpoints():
        names = set(pattern.pattern.regex.groupindex) - {"format"}
        if names - set(PLAIN_ARGS):
            continue
        url = build_url(regex, pattern, {n: PLAIN_ARGS[n] for n in names})
        if url is None:
            failures.append(f"{regex}: cannot build a URL that resolves back to this pattern")
            continue
        tried += 1
        for how, client in clients(user, url):
            for method, target in (("get", url), *(("get", url + p) for p in PROBES), ("post", url)):
                try:
                    r = call(client, method, target)
                except Exception as exc:
                    failures.append(f"{method.upper()} {target} ({how}): {exc!r}")
                    continue
                shown = leaks(text_of(r))
                if r.status_code >= 500:
                    failures.append(f"{method.upper()} {target} ({how}): {r.status_code}")
                elif shown:
                    failures.append(f"{method.upper()} {target} ({how}): shows {shown}")
    assert tried > 10
    assert not failures, "\n".join(failures)


def test_admin_sends_non_staff_to_its_login(world):
    web = Client()
    web.force_login(world["user"])
    r = web.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    r = web.get(f"/admin/members/member/{world['objects']['member'][0]}/change/")
    assert r.status_code in (302, 404) and not leaks(text_of(r))


def test_staff_only_pages_admit_exactly_the_committee_staff(world, tree, personas):
    """Pages marked `committee_staff_only` (the working committee's own work: rules, schemes,
    runs, duty lists …) open for a 工委管理员 on the working committee and answer 404 to every
    other role — including a 工委管理员 role given on a department, and leaders and inspectors
    who view the whole tree."""
    others = {
        "wc_admin on a department": factories.user("wc_admin", tree["a"], username="wcdept"),
        "inspector": factories.user("inspector", tree["wc"], username="inspector"),
        **{k: personas[k] for k in ("unit_admin_a", "secretary_a1", "member_a", "leader")},
    }
    staff = personas["wc_admin"]
    objects, tried, failures = world["objects"], [], []
    for regex, pattern in endpoints():
        if not getattr(pattern.callback, "committee_staff_only", False):
            continue
        names = set(pattern.pattern.regex.groupindex) - {"format"}
        values = {n: PLAIN_ARGS[n] if n in PLAIN_ARGS else objects[object_kind(regex, n)][1] for n in names}
        url = build_url(regex, pattern, values)
        if url is None:
            failures.append(f"{regex}: cannot build a URL that resolves back to this pattern")
            continue
        tried.append(url)
        r = factories.login(staff).get(url)
        if r.status_code == 404 or r.status_code >= 500:
            failures.append(f"GET {url} as 工委 staff: {r.status_code}")
        for who, user in others.items():
            for method in ("get", "post"):
                r = getattr(factories.login(user), method)(url)
                if r.status_code != 404:
                    failures.append(f"{method.upper()} {url} as {who}: {r.status_code}, expected 404")
    assert len(tried) >= 8, tried
    assert not failures, "\n".join(failures)
