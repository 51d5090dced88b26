"""No script from data: hostile text in every field a page, chart, export or document shows.

The demo city is built, then every field a person types (names, 职务, topics, minutes, places,
rule and scheme texts, titles, duty items, …) gets a payload that runs script if it is ever
written into a page as markup. The server-side walk follows every link from the home page as
several roles and checks that the payload never appears unescaped, that each field does appear
somewhere (so the walk really showed it) and that every page carries the strict
Content-Security-Policy. The browser test opens the chart pages, hovers the heatmap so its
tooltip renders, and checks that nothing ran and that the policy was never violated. A third
test keeps the templates free of what the policy forbids.
"""
import datetime as dt
import html
import io
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import docx
import openpyxl
import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from dangjian.accounts.models import User
from tests import factories

TODAY = dt.date(2026, 6, 30)

# (model, field) pairs that hold typed text and are shown somewhere. Each gets its own tag (fNN),
# so the walk can tell which fields it saw.
FIELDS = [
    ("orgs.Unit", "name"), ("orgs.Organization", "name"),
    ("members.Member", "name"), ("members.Member", "post"), ("members.Member", "workplace"),
    ("accounts.User", "first_name"),
    ("activities.Activity", "topic"), ("activities.Activity", "place"), ("activities.Activity", "minutes"),
    ("activities.Activity", "decisions"), ("activities.Activity", "lecturer_name"),
    ("activities.Attendance", "reason"),
    ("activities.ActivityRule", "source"), ("activities.ActivityRule", "note"),
    ("assessment.Scheme", "name"), ("assessment.Indicator", "name"), ("assessment.Indicator", "category"),
    ("assessment.Indicator", "note"), ("assessment.Admonition", "reason"),
    ("reviews.DutyReview", "title"), ("reviews.DutyReport", "title"), ("reviews.DutyReport", "text"),
    ("reviews.VoterGroup", "name"), ("rectification.Item", "title"),
    ("ratings.RatingScheme", "source"), ("ratings.WeakOrg", "reasons"), ("ratings.WeakOrg", "measures"),
    ("duties.DutyItem", "title"), ("duties.DutyItem", "source"), ("duties.DutyMark", "note"),
]
# What may never appear as markup: the opening of each injected element.
MARKUP = ("<img src=x", "<svg id=", "</script><svg")


def payload(tag: int, room: int) -> str:
    """Script that sets window.__xss when it runs; the long form also closes a <script> and
    breaks out of either kind of quoted attribute."""
    long = f"<img src=x id=f{tag} onerror=__xss={tag};alert({tag})>\"'</script><svg onload=__xss={tag}>"
    return long if room >= len(long) + 4 else f"<svg id=f{tag} onload=__xss={tag}>'\""


def escaped_tag(tag: int) -> tuple[str, ...]:
    """How field `tag` looks once escaped: in HTML, in json_script, as plain text."""
    return (f"&lt;img src=x id=f{tag} ", f"&lt;svg id=f{tag} ", f"\\u003Cimg src=x id=f{tag} ",
            f"\\u003Csvg id=f{tag} ", f"<img src=x id=f{tag} ", f"<svg id=f{tag} ")


def build_hostile_city() -> dict[int, tuple[str, str]]:
    """The demo city with a payload appended to every field in FIELDS (written straight to the
    table, as a rename through any door or an old import would leave it). Returns tag → field."""
    call_command("demo", members=300, seed=5, today=TODAY.isoformat(), stdout=io.StringIO(), stderr=io.StringIO())
    tags = {}
    for tag, (label, name) in enumerate(FIELDS, start=1):
        model = apps.get_model(label)
        field = model._meta.get_field(name)
        room = field.max_length or 10_000
        text = payload(tag, room)
        rows = list(model.objects.exclude(**{name: ""}).only("pk", name)) or list(model.objects.only("pk", name))
        for row in rows:
            value = getattr(row, name) or ""
            setattr(row, name, value[: room - len(text)] + text)
        model.objects.bulk_update(rows, [name], batch_size=500)
        tags[tag] = (label, name)
    return tags


# ---- the server side: every page as several roles --------------------------------------------

SKIP = ("/accounts/logout", "/admin/", "/static/", "/api/schema")
PER_SHAPE = 3  # pages per URL shape (ids → N, query keys kept): a sample of every kind of page
LIMIT = 700


def shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted({p.split("=")[0] for p in parts.query.split("&") if p})
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def links(body: str) -> list[str]:
    found = re.findall(r'(?:href|hx-get|data-url|data-base)="([^"#]*)', body)
    return [html.unescape(u) for u in found]


def text_of(ctype: str, body: bytes) -> str:
    if "wordprocessingml" in ctype:
        d = docx.Document(io.BytesIO(body))
        cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in d.paragraphs] + cells)
    if "spreadsheetml" in ctype:
        wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    return body.decode("utf-8", "replace")


def csp_problems(response) -> list[str]:
    policy = response.get("Content-Security-Policy")
    if not policy:
        return ["no Content-Security-Policy header"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    problems = []
    for name in ("script-src", "style-src"):
        values = directives.get(name, directives.get("default-src", []))
        problems += [f"{name} {v}" for v in values if v in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:")]
    for name, expected in (("default-src", ["'self'"]), ("object-src", ["'none'"]), ("base-uri", ["'self'"]),
                           ("frame-ancestors", ["'none'"]), ("form-action", ["'self'"])):
        if directives.get(name) != expected:
            problems.append(f"{name} is {directives.get(name)}")
    return problems


# Pages reached by typing rather than by a link: the org autocomplete's answers.
TYPED = ["/orgs/lookup/?capability=view&q=市", "/orgs/lookup/?capability=view&q=党支部", "/members/?q=f"]


def walk(client: Client, start: str = "/", also: tuple[str, ...] = ()) -> tuple[dict[str, str], list[str]]:
    """Follows links breadth first from `start`, the TYPED pages and `also`. Returns url → the
    text shown, and the problems found."""
    seen_shapes, queue, visited, texts, problems = Counter(), [start, *TYPED, *also], set(), {}, []
    while queue and len(visited) < LIMIT:
        url = queue.pop(0)
        if url in visited or seen_shapes[shape(url)] >= PER_SHAPE:
            continue
        visited.add(url)
        seen_shapes[shape(url)] += 1
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
            continue
        if response.status_code != 200:
            continue
        ctype = response.get("Content-Type", "")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = text_of(ctype, body)
        texts[url] = text
        if "html" in ctype:
            problems += [f"{url}: {p}" for p in csp_problems(response)]
            problems += [f"{url}: unescaped {m!r}" for m in MARKUP if m in text]
            for link in links(text):
                target = urljoin(url, link)
                parts = urlsplit(target)
                if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(SKIP):
                    continue
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return texts, problems


@pytest.fixture
def hostile_city(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_hostile_city()


def test_hostile_text_is_shown_escaped_on_every_page_with_a_strict_policy(hostile_city):
    shown, problems = {}, []
    anonymous = Client().get("/accounts/login/")
    problems += [f"/accounts/login/: {p}" for p in csp_problems(anonymous)]
    # Comments to rectify are on a sample of the reports: a page that has some is walked first,
    # whichever three reports the links lead to.
    from dangjian.rectification.models import Item
    from dangjian.reviews.models import DutyReport

    commented = tuple(f"/reviews/reports/{pk}/" for pk in DutyReport.objects.filter(
        pk__in=Item.objects.filter(source="review").values("source_id")).order_by("pk").values_list("pk", flat=True)[:1])
    for username in ("admin", "zhibu", "dangyuan"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        texts, found = walk(client, also=commented)
        assert len(texts) > (100 if username == "admin" else 5), (username, len(texts))
        shown.update(texts)
        problems += [f"{username} {p}" for p in found]
    assert not problems, "\n".join(problems[:40])
    # Every field was shown somewhere, escaped: the walk did meet each payload.
    everything = "\n".join(shown.values())
    unseen = [hostile_city[t] for t in hostile_city if not any(e in everything for e in escaped_tag(t))]
    assert not unseen, f"fields never shown on a walked page: {unseen}"


# ---- the templates: nothing the policy forbids --------------------------------------------------

TEMPLATE_DIRS = [p for p in (Path(__file__).resolve().parent.parent / "dangjian").rglob("templates")]
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(?!\s*</script>)", re.I)


def template_problems(text: str) -> list[str]:
    # Template comments are never sent and a tag's arguments are no markup ({% render_field
    # f style=style %}): blank them out, keeping the line numbers.
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    problems = []
    for n, line in enumerate(text.splitlines(), start=1):
        if HANDLER.search(line):
            problems.append(f"{n}: event handler attribute")
        if re.search(r"\sstyle\s*=", line, re.I):
            problems.append(f"{n}: style attribute")
        if re.search(r"<style\b", line, re.I):
            problems.append(f"{n}: <style> element")
        if re.search(r"\shx-on", line, re.I):
            problems.append(f"{n}: hx-on attribute (runs through eval)")
    for m in INLINE_SCRIPT.finditer(text):
        tag = m.group(0)
        if 'type="application/json"' not in tag:
            problems.append(f"{text[:m.start()].count(chr(10)) + 1}: inline <script> with a body")
    return problems


def test_template_check_finds_what_the_policy_forbids():
    """Guards the check below: each forbidden form is caught, the allowed forms are not."""
    for bad in ('<select onchange="this.form.submit()">', '<button onclick="return confirm(1)">',
                '<div style="height: 10px">', "<style>.a{}</style>", "<script>\nrun();\n</script>",
                '<div hx-on:click="x()">'):
        assert template_problems(bad), bad
    for good in ('<script src="/static/js/site.js"></script>', '<div data-confirm="确定？">',
                 '<select data-autosubmit>', '<script id="d" type="application/json">{}</script>'):
        assert not template_problems(good), good


def test_templates_hold_no_inline_script_handler_or_style():
    found = {}
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            problems = template_problems(path.read_text(encoding="utf-8"))
            if problems:
                found[str(path)] = problems
    assert len(TEMPLATE_DIRS) > 5
    assert not found, found


# ---- the browser: nothing runs, nothing breaks the policy -----------------------------------

# Collects the policy's violations before any page script runs (Playwright adds this script
# through the browser's own protocol, so the policy does not apply to it).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.effectiveDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""
INJECTED = "img[id^=f], svg[id^=f], [onerror], [onload]"


def main_walk() -> list[str]:
    """The pages of the main walk, with an object of each kind from the hostile city."""
    from dangjian.activities.models import Activity
    from dangjian.assessment.models import TargetScore
    from dangjian.members.models import Member
    from dangjian.orgs.models import Organization
    from dangjian.ratings.models import Rating, WeakOrg
    from dangjian.rectification.models import Item
    from dangjian.reviews.models import DutyReport, DutyReview

    branch = Organization.objects.filter(kind="branch", members__isnull=False).order_by("pk").first()
    member = Member.objects.filter(org=branch).order_by("pk").first()
    activity = Activity.objects.filter(org=branch).order_by("-held_on").first() or Activity.objects.order_by("pk").first()
    score = TargetScore.objects.order_by("-run__period_end", "pk").select_related("run").first()
    review = DutyReview.objects.filter(status=DutyReview.Status.CLOSED).order_by("pk").first()
    # A report with comments to rectify, so that their text is on the walked page too.
    report = DutyReport.objects.filter(review=review, pk__in=Item.objects.filter(source="review").values("source_id")
                                       ).order_by("pk").first()
    rated = Rating.objects.order_by("pk").first()
    weak = WeakOrg.objects.order_by("pk").first()
    assert all((branch, member, activity, score, review, report, rated, weak)), "the demo city lacks a kind of record"
    run = score.run
    return [
        "/", "/orgs/", f"/orgs/{branch.pk}/", "/members/", f"/members/{member.pk}/", "/activities/",
        "/activities/overview/", "/activities/formalism/", "/activities/rules/",
        f"/activities/org/{branch.pk}/calendar/", f"/activities/org/{branch.pk}/compliance/",
        f"/activities/{activity.pk}/", "/assessment/", f"/assessment/runs/{run.pk}/",
        f"/assessment/runs/{run.pk}/targets/{score.org_id}/", f"/assessment/runs/{run.pk}/bulletin/",
        "/assessment/admonitions/", "/reviews/", f"/reviews/{review.pk}/", f"/reviews/{review.pk}/results/",
        f"/reviews/reports/{report.pk}/", "/ratings/", f"/ratings/org/{rated.org_id}/", "/ratings/weak/",
        f"/ratings/weak/{weak.pk}/", "/duties/overview/", "/duties/items/", f"/duties/member/{member.pk}/",
        "/exchange/import/", "/api/docs/", "/api/orgs/", f"/api/members/{member.pk}/",
        # forms (the org autocomplete, date and select widgets) and the staff's lists
        f"/members/{member.pk}/edit/", f"/orgs/{branch.pk}/edit/", f"/activities/{activity.pk}/edit/",
        f"/activities/org/{branch.pk}/new/", f"/assessment/schemes/{run.scheme_id}/indicators/",
        "/assessment/bulletins/", "/reviews/new/", "/reviews/vote/", "/ratings/rules/", "/ratings/commendation/",
        "/orgs/alerts/", "/duties/",
    ]


def hover_heatmap(page) -> str:
    """Hovers a closed cell of the heatmap and returns the tooltip's text (the tooltip is drawn
    on the canvas, so its text is read from the chart's scene, never from the page's markup)."""
    point = page.evaluate("""() => {
      const box = document.getElementById("overview-chart");
      const chart = echarts.getInstanceByDom(box);
      const cell = chart.getOption().series[0].data[0];
      const [x, y] = chart.convertToPixel({seriesIndex: 0}, cell.value.slice(0, 2));
      const r = box.getBoundingClientRect();
      return [r.left + x, r.top + y];
    }""")
    page.mouse.move(point[0] - 5, point[1] - 5)
    page.mouse.move(*point)
    page.wait_for_timeout(600)
    return page.evaluate("""() => {
      const chart = echarts.getInstanceByDom(document.getElementById("overview-chart"));
      const html = Array.from(document.querySelectorAll("#overview-chart div")).map(d => d.textContent).join(" ");
      const texts = chart.getZr().storage.getDisplayList(true)
        .map(el => (el.style && el.style.text) || "").join(" ");
      return html + " " + texts;
    }""")


@pytest.mark.browser
def test_hostile_names_run_nothing_and_break_no_policy_in_the_browser(transactional_db, live_server, browser_page,
                                                                        settings, tmp_path):
    from dangjian.demo import generator

    settings.MEDIA_ROOT = tmp_path / "media"
    tags = build_hostile_city()
    page, base = browser_page, live_server.url
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.add_init_script(WATCH)
    page.set_viewport_size({"width": 1280, "height": 900})
    factories.browser_login(page, base, "admin", generator.DEMO_PASSWORD)

    problems, charts = [], 0
    for path in main_walk():
        response = page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if response.status != 200:
            problems.append(f"{path}: {response.status}")
        policy = response.headers.get("content-security-policy", "")
        if "script-src 'self'" not in policy or "unsafe" in policy:
            problems.append(f"{path}: policy {policy!r}")
        if path == "/activities/overview/":
            tip = hover_heatmap(page)
            # The tooltip shows the hostile unit name as text.
            if "完成率" not in tip or not any(f"id=f{t}" in tip for t in tags):
                problems.append(f"{path}: tooltip not shown with the unit's name: {tip[:200]!r}")
        if path == "/orgs/":
            page.locator("[data-expand]").first.click()
            page.wait_for_load_state("networkidle")
        if path == "/members/":
            box = page.locator("[data-org-ac-input]").first
            box.fill("市")
            page.locator("[data-org-ac] [role=option]").first.wait_for()
        # Charts drew: every chart box on the page holds ECharts' canvas.
        empty = page.evaluate("""() => Array.from(document.querySelectorAll(
            "#overview-chart, #formalism-chart, #grade-chart, #trend-chart, #history-chart, #results-chart, "
            + "#ratings-bar, #ratings-pie, #ratings-history-chart"))
          .filter(b => b.offsetWidth && !b.querySelector("canvas")).map(b => b.id)""")
        charts += page.locator("canvas").count()
        problems += [f"{path}: chart {c} not drawn" for c in empty]
        # Every chart's tooltip is shown once: the pointer crosses each drawn chart.
        for box in page.locator("div:has(> div > canvas)").all():
            area = box.bounding_box()
            if area and area["width"] > 50:
                for fx in (0.3, 0.5, 0.7):
                    page.mouse.move(area["x"] + area["width"] * fx, area["y"] + area["height"] * 0.5)
                    page.wait_for_timeout(150)
        page.wait_for_timeout(100)
        found = page.evaluate(f"""() => ({{
            xss: typeof window.__xss === "undefined" ? null : String(window.__xss),
            injected: document.querySelectorAll("{INJECTED}").length,
            csp: window.__csp || []}})""")
        if found["xss"] is not None or found["injected"]:
            problems.append(f"{path}: script from data ran ({found})")
        problems += [f"{path}: CSP violation {v}" for v in found["csp"]]
    page.wait_for_timeout(500)  # what the last page reports late is counted too
    assert not dialogs, dialogs
    assert not errors, errors
    assert not problems, "\n".join(problems)
    assert charts >= 8


@pytest.mark.browser
def test_confirm_and_autosubmit_work_without_inline_handlers(transactional_db, live_server, personas, tree,
                                                             browser_page, settings, tmp_path):
    """What used to be onclick="return confirm(…)" and onchange="this.form.submit()" works
    under the policy: the question shows a hostile file name as text, a refusal keeps the file, a yes removes it; a
    year picked in the list reloads the page for that year."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dangjian.activities import services as activity_services
    from dangjian.activities.models import Attachment

    settings.MEDIA_ROOT = tmp_path / "media"
    name = "签到表<img src=x onerror=__xss=1>'\");alert(2);.pdf"
    activity = activity_services.record_activity(None, tree["a1"], ["theme_day"], factories.TODAY, topic="主题党日")
    att = activity_services.add_attachment(None, activity, SimpleUploadedFile(name, b"%PDF-1.4 sheet",
                                                                               "application/pdf"))
    page, base = browser_page, live_server.url
    page.add_init_script(WATCH)
    factories.browser_login(page, base, "seca1")
    asked, answer = [], {"accept": False}
    page.on("dialog", lambda d: (asked.append(d.message), d.accept() if answer["accept"] else d.dismiss()))

    # Both pages run under the policy, which would block an inline handler.
    response = page.goto(f"{base}/activities/{activity.pk}/")
    assert "script-src 'self'" in response.headers.get("content-security-policy", "")
    remove = page.locator("[data-confirm]").first
    remove.click()
    page.wait_for_timeout(300)
    assert asked == [f"删除附件“{att.name}”？删除后不再列出，变更记录中保留。"]
    assert Attachment.objects.filter(pk=att.pk, is_active=True).exists()
    answer["accept"] = True
    with page.expect_navigation():
        remove.click()
    assert not Attachment.objects.filter(pk=att.pk, is_active=True).exists()
    assert page.evaluate("typeof window.__xss") == "undefined"

    response = page.goto(f"{base}/activities/org/{tree['a1'].pk}/compliance/")
    assert "script-src 'self'" in response.headers.get("content-security-policy", "")
    years = page.locator("#f-year option").all_inner_texts()
    other = next(y for y in years if y != page.locator("#f-year").input_value())
    with page.expect_navigation():
        page.select_option("#f-year", other)
    assert f"year={other}" in page.url and f"{other} 年组织生活落实情况" in page.inner_text("h1")
    assert page.evaluate("window.__csp") == []
