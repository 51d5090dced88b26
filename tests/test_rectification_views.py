"""The rectification screens: the list with its filters and export, the item page and its move
forms (two people on one item), the new item form and the compliance link, the unit board, the
evidence files, the home page's to-do with reminders and escalation, and query counts that stay
the same as items grow."""
import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dangjian.core.models import AuditEntry
from dangjian.rectification import queries, services
from dangjian.rectification.models import Item, ItemEvent, ItemFile
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def today():
    return timezone.localdate()


def opened(tree, personas, org="a1", **over):
    fields = dict(org=tree[org], title="“三会一课”记录不全", description="第三季度党课无记录", source="manual",
                  issuer=tree["wc"], deadline=today() + dt.timedelta(days=30), list="problem")
    fields.update(over)
    return services.open_item(personas["wc_admin"], **fields)


def text(response) -> str:
    return factories.page_text(response)


@pytest.fixture
def item(tree, personas):
    return opened(tree, personas)


# ---- the list -------------------------------------------------------------------------------

def test_each_role_sees_the_items_of_its_side(tree, personas):
    a = opened(tree, personas, title="财政局支部事项")
    b = opened(tree, personas, org="b1", title="教育局支部事项")
    seen = {}
    for who in ("wc_admin", "unit_admin_a", "unit_admin_b", "secretary_a1", "leader"):
        body = text(factories.login(personas[who]).get(reverse("rectification:list")))
        seen[who] = (a.title in body, b.title in body)
    assert seen == {"wc_admin": (True, True), "unit_admin_a": (True, False), "unit_admin_b": (False, True),
                    "secretary_a1": (True, False), "leader": (True, True)}
    assert factories.login(personas["unit_admin_b"]).get(reverse("rectification:detail", args=[a.pk])).status_code == 404


def test_the_list_filters_by_list_status_unit_source_and_words(tree, personas):
    d = today()
    late = opened(tree, personas, title="逾期事项", opened_on=d - dt.timedelta(days=20),
                  deadline=d - dt.timedelta(days=5))
    task = opened(tree, personas, org="b1", title="任务事项", list="task")
    comp = opened(tree, personas, title="组织生活事项", source="compliance", source_id=77)
    c = factories.login(personas["wc_admin"])

    def titles(**params):
        body = text(c.get(reverse("rectification:list"), params))
        return {t for t in (late.title, task.title, comp.title) if t in body}

    assert titles(status="overdue") == {late.title}
    assert "已超期 5 天" in text(c.get(reverse("rectification:list"), {"status": "overdue"}))
    assert titles(list="task") == {task.title}
    assert titles(org="JY") == {task.title}
    assert titles(org="CZ01") == {late.title, comp.title}
    assert titles(source="compliance", source_id="77") == {comp.title}
    assert titles(q="逾期") == {late.title}
    assert titles(status="closed") == set()
    body = text(c.get(reverse("rectification:list"), {"status": "nonsense", "org": "NOPE"}))
    assert "状态“nonsense”不存在" in body and "未找到组织代码“NOPE”" in body


def test_the_export_is_the_filtered_list_neutral_and_audited(tree, personas):
    opened(tree, personas, title="=HYPERLINK(\"http://x\")")
    opened(tree, personas, org="b1", title="教育局事项")
    c = factories.login(personas["wc_admin"])
    r = c.get(reverse("rectification:export"), {"org": "CZ"})
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    titles = [row[4] for row in rows[1:] if row[4]]
    assert titles == ["=HYPERLINK(\"http://x\")"]
    for row in wb.active.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
    assert AuditEntry.objects.filter(action="export", note__contains="督查整改事项").exists()


def test_the_list_takes_the_same_number_of_queries_however_many_items(tree, personas):
    c = factories.login(personas["wc_admin"])

    def count():
        c.get(reverse("rectification:list"))  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(reverse("rectification:list"), {"status": "open"}).status_code == 200
        return len(ctx)

    opened(tree, personas)
    few = count()
    for i in range(30):
        opened(tree, personas, org="b1" if i % 2 else "a1", title=f"事项{i}")
    assert count() == few


# ---- the item page and its moves -------------------------------------------------------------

def test_the_responsible_side_signs_reports_and_asks_the_issuer_closes(tree, personas, item):
    sec, wc = factories.login(personas["secretary_a1"]), factories.login(personas["wc_admin"])
    url = reverse("rectification:detail", args=[item.pk])
    body = text(sec.get(url))
    assert "签收" in body and "销号" not in body.split("办理")[-1].replace("申请销号", "")
    r = sec.post(reverse("rectification:move", args=[item.pk, "sign"]), {"version": item.version})
    assert r.status_code == 302
    item.refresh_from_db()
    r = sec.post(reverse("rectification:move", args=[item.pk, "note"]), {"text": "已补开党课", "version": item.version})
    assert r.status_code == 302
    r = sec.post(reverse("rectification:move", args=[item.pk, "request"]), {"text": "", "version": item.version})
    assert r.status_code == 400 and "整改情况及佐证：必填" in text(r)
    assert Item.objects.get(pk=item.pk).status == Item.Status.RECTIFYING
    upload = SimpleUploadedFile("签到表.pdf", PDF, content_type="application/pdf")
    r = sec.post(reverse("rectification:move", args=[item.pk, "request"]),
                 {"text": "党课记录及签到表", "version": item.version, "files": [upload]})
    assert r.status_code == 302, text(r)
    item.refresh_from_db()
    assert item.status == Item.Status.CLOSING
    f = ItemFile.objects.get(item=item)
    assert f.event.kind == ItemEvent.Kind.REQUEST
    assert sec.get(reverse("rectification:move", args=[item.pk, "close"])).status_code == 405
    r = sec.post(reverse("rectification:move", args=[item.pk, "close"]), {"text": "自己销号", "version": item.version})
    assert Item.objects.get(pk=item.pk).status == Item.Status.CLOSING
    r = wc.post(reverse("rectification:move", args=[item.pk, "close"]), {"text": "核查属实", "version": item.version})
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.status == Item.Status.CLOSED
    assert [e.kind for e in queries.timeline(item)] == ["open", "sign", "note", "request", "close"]


def test_evidence_files_are_optional_checked_and_served_only_within_scope(tree, personas, item):
    sec = factories.login(personas["secretary_a1"])
    services.sign(personas["secretary_a1"], item)
    item.refresh_from_db()
    bad = SimpleUploadedFile("照片.pdf", b"MZ\x90\x00not a pdf", content_type="application/pdf")
    r = sec.post(reverse("rectification:move", args=[item.pk, "request"]),
                 {"text": "已整改", "version": item.version, "files": [bad]})
    assert r.status_code == 400 and "佐证材料" in text(r) and "不符" in text(r)
    assert Item.objects.get(pk=item.pk).status == Item.Status.RECTIFYING and not ItemFile.objects.exists()
    good = SimpleUploadedFile("整改报告.pdf", PDF, content_type="application/pdf")
    sec.post(reverse("rectification:move", args=[item.pk, "request"]),
             {"text": "已整改", "version": item.version, "files": [good]})
    f = ItemFile.objects.get()
    url = reverse("rectification:file", args=[f.pk])
    r = sec.get(url)
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    assert factories.login(personas["unit_admin_b"]).get(url).status_code == 404


def test_two_people_on_one_item_the_second_is_told_and_shown_the_newer_version(tree, personas, item):
    wc, unit = factories.login(personas["wc_admin"]), factories.login(personas["secretary_a1"])
    shown = item.version
    r = wc.post(reverse("rectification:move", args=[item.pk, "edit"]),
                {"deadline": (today() + dt.timedelta(days=60)).isoformat(), "text": "任务量大", "version": shown})
    assert r.status_code == 302
    r = unit.post(reverse("rectification:move", args=[item.pk, "sign"]), {"text": "收到", "version": shown})
    assert r.status_code == 409
    body = text(r)
    assert "此整改事项已被他人修改" in body and "页面已显示最新内容" in body
    assert (today() + dt.timedelta(days=60)).isoformat() in body
    item.refresh_from_db()
    assert item.status == Item.Status.PENDING
    assert f'value="{item.version}"' in r.content.decode()


def test_refer_from_the_page_keeps_both_ends(tree, personas, item):
    wc = factories.login(personas["wc_admin"])
    r = wc.post(reverse("rectification:move", args=[item.pk, "refer"]),
                {"to_org": "NOPE", "text": "职责在教育局", "version": item.version})
    assert r.status_code == 400 and "未找到组织代码“NOPE”" in text(r)
    r = wc.post(reverse("rectification:move", args=[item.pk, "refer"]),
                {"to_org": "JY01", "text": "职责在教育局", "version": item.version})
    assert r.status_code == 302
    new = Item.objects.get(referred_from=item)
    assert "转办至：" in text(wc.get(reverse("rectification:detail", args=[item.pk])))
    assert "转自：" in text(wc.get(reverse("rectification:detail", args=[new.pk])))


# ---- a new item -------------------------------------------------------------------------------

def test_a_unit_admin_issues_to_its_own_subtree_only(tree, personas):
    c = factories.login(personas["unit_admin_a"])
    form = {"issuer": "CZ", "org": "CZ01", "list": "task", "title": "完善支部工作台账", "description": "",
            "workdays": "10", "source": "manual", "source_label": ""}
    r = c.post(reverse("rectification:new"), {**form, "org": "JY01"})
    assert r.status_code == 200 and "未找到组织代码“JY01”" in text(r)
    r = c.post(reverse("rectification:new"), {**form, "workdays": ""})
    assert "整改时限：请填写日期或工作日天数" in text(r)
    assert not Item.objects.exists()
    r = c.post(reverse("rectification:new"), form)
    assert r.status_code == 302
    it = Item.objects.get()
    assert (it.issuer, it.org, it.workdays, it.source) == (tree["a"], tree["a1"], 10, "manual")
    assert factories.login(personas["secretary_a1"]).get(reverse("rectification:new")).status_code == 200
    assert factories.login(personas["leader"]).get(reverse("rectification:new")).status_code == 404


def test_a_failed_requirement_opens_the_form_filled_from_the_compliance_page(tree, personas):
    c = factories.login(personas["unit_admin_a"])
    body = c.get(reverse("activities:compliance", args=[tree["a1"].pk])).content.decode()
    assert "列入整改" in body
    assert "列入整改" not in factories.login(personas["secretary_a1"]).get(
        reverse("activities:compliance", args=[tree["a1"].pk])).content.decode()
    start = body.index("列入整改")
    href = body[body.rindex('href="', 0, start) + 6:body.index('"', body.rindex('href="', 0, start) + 6)]
    href = href.replace("&amp;", "&")
    r = c.get(href)
    assert r.status_code == 200
    form = r.context["form"]
    assert form.initial["source"] == "compliance" and form.initial["org"] == "CZ01"
    assert "未按要求开展" in form.initial["title"]


# ---- the unit board -------------------------------------------------------------------------

def test_the_board_counts_per_unit_for_overseers_only(tree, personas):
    d = today()
    opened(tree, personas, opened_on=d - dt.timedelta(days=20), deadline=d - dt.timedelta(days=1))
    opened(tree, personas, org="b1")
    r = factories.login(personas["wc_admin"]).get(reverse("rectification:board"))
    assert r.status_code == 200
    rows = {row["name"]: row for row in r.context["rows"]}
    assert rows["市财政局机关党委"]["overdue"] == 1 and rows["市教育局机关党委"]["open"] == 1
    assert 'id="items-board-data"' in r.content.decode()
    assert factories.login(personas["secretary_a1"]).get(reverse("rectification:board")).status_code == 404
    x = factories.login(personas["wc_admin"]).get(reverse("rectification:board-export"))
    assert x.status_code == 200


# ---- reminders and escalation ---------------------------------------------------------------

NATIONAL_DAY = dt.date(2026, 9, 30)
# The deadline is the day before National Day. 2026-09-25 is the Mid-Autumn Festival, 10-01…10-07
# the National Day holiday: three working days before the deadline is 09-24, and the first working
# day after it 10-08.


def test_the_sweep_reminds_then_escalates_on_the_first_working_day_after_the_deadline(tree, personas):
    it = opened(tree, personas, opened_on=dt.date(2026, 9, 1), deadline=NATIONAL_DAY, today=dt.date(2026, 9, 1))
    assert services.sweep(dt.date(2026, 9, 23))["remind"] == 0     # four working days before
    assert services.sweep(dt.date(2026, 9, 24))["remind"] == 1     # three working days before (09-25 a holiday)
    assert services.sweep(dt.date(2026, 9, 28))["remind"] == 0     # never twice
    assert services.sweep(dt.date(2026, 10, 1))["workday"] is False  # National Day: no sweep
    assert services.sweep(dt.date(2026, 10, 7))["escalate"] == 0   # still the holiday
    result = services.sweep(dt.date(2026, 10, 8))
    assert result["escalate"] == 1
    assert services.sweep(dt.date(2026, 10, 10))["escalate"] == 0  # a make-up working day: already done
    kinds = list(ItemEvent.objects.filter(item=it).values_list("kind", "on"))
    assert kinds == [("open", dt.date(2026, 9, 1)), ("remind", dt.date(2026, 9, 24)),
                     ("escalate", dt.date(2026, 10, 8))]
    assert AuditEntry.objects.filter(table="rectification.item", object_id=it.pk, note__startswith="督办").exists()


def test_the_branch_sees_the_reminder_and_the_superior_the_escalation(tree, personas):
    d = today()
    soon = opened(tree, personas, title="临近时限事项", deadline=d + dt.timedelta(days=2))
    late = opened(tree, personas, title="超期事项", opened_on=d - dt.timedelta(days=30), deadline=d - dt.timedelta(days=3))
    ItemEvent.objects.bulk_create([ItemEvent(item=soon, kind="remind", on=d), ItemEvent(item=late, kind="remind", on=d),
                                   ItemEvent(item=late, kind="escalate", on=d)])
    branch = factories.login(personas["secretary_a1"]).get(reverse("home"))
    unit = factories.login(personas["unit_admin_a"]).get(reverse("home"))
    other = factories.login(personas["unit_admin_b"]).get(reverse("home"))
    b, u = branch.context["items"], unit.context["items"]
    assert [i.title for i in b["remind"]] == [soon.title] and b["escalate"] == []
    assert [i.title for i in u["escalate"]] == [late.title]
    assert {i.title for i in b["act"]} == {soon.title, late.title}  # 待签收
    assert "items" not in other.context
    assert "督办：下级组织超期未销号" in text(unit)
    services.sign(personas["secretary_a1"], soon)
    services.request_close(personas["secretary_a1"], soon, evidence="已整改")
    wc = factories.login(personas["wc_admin"]).get(reverse("home")).context["items"]
    assert soon.title in [i.title for i in wc["act"]]


def test_the_sweep_command_runs_for_a_day(tree, personas):
    opened(tree, personas, opened_on=dt.date(2026, 9, 1), deadline=NATIONAL_DAY, today=dt.date(2026, 9, 1))
    code, out, err = factories.cli("items-sweep", "--today", "2026-10-08")
    assert code in (0, None), err
    assert "督办 1" in out
    with pytest.raises(CommandError) as e:
        factories.cli("items-sweep", "--today", "2026-13-01")
    assert e.value.returncode == 2 and "日期" in str(e.value)


# ---- the figures as assessment metrics --------------------------------------------------------

def test_item_metrics_match_a_naive_count_and_their_queries_do_not_grow(tree, personas):
    import random

    from dangjian.assessment import metrics
    from dangjian.assessment import queries as assessment_queries
    from dangjian.assessment.models import Level

    rng = random.Random(12)
    branches = [tree["a1"], tree["b1"], *(factories.org(tree[u], code=f"X{u}{i}") for i in range(3) for u in "ab")]
    start, end, day = dt.date(2026, 1, 1), dt.date(2026, 6, 30), dt.date(2026, 7, 15)

    def grow(n):
        for _ in range(n):
            opened_on = dt.date(2025, 12, 1) + dt.timedelta(days=rng.randint(0, 180))
            deadline = opened_on + dt.timedelta(days=rng.randint(0, 90))
            it = opened(tree, personas, org="a1", opened_on=opened_on, deadline=deadline, today=day)
            status = rng.choice(["pending", "rectifying", "closing", "closed", "closed", "referred"])
            closed_on = deadline + dt.timedelta(days=rng.randint(-20, 40)) if status == "closed" else None
            if closed_on is not None:
                closed_on = max(closed_on, opened_on)
            Item.objects.filter(pk=it.pk).update(org=rng.choice(branches), status=status, closed_on=closed_on)

    def count():
        targets = assessment_queries.targets(Level.UNIT)
        with CaptureQueriesContext(connection) as ctx:
            got = {code: metrics.compute(code, targets, start, end, {}, day)
                   for code in ("items_on_time", "items_overdue_clear")}
        return targets, got, len(ctx)

    grow(15)
    few = count()[2]
    grow(45)
    targets, got, many = count()
    assert many == few == 2
    items = list(Item.objects.select_related("org"))
    checked = 0
    for t in targets:
        mine = [i for i in items if i.org.path.startswith(t.path) and i.status != "referred"
                and start <= i.deadline <= end]
        on_time = sum(i.status == "closed" and i.closed_on <= i.deadline for i in mine)
        at = min(end, day)  # overdue as the period ends
        overdue = sum(i.deadline < at and not (i.status == "closed" and i.closed_on <= at) for i in mine)
        assert (got["items_on_time"][t.org_id].numerator, got["items_on_time"][t.org_id].denominator) == (
            on_time, len(mine))
        assert (got["items_overdue_clear"][t.org_id].numerator,
                got["items_overdue_clear"][t.org_id].denominator) == (len(mine) - overdue, len(mine))
        checked += len(mine)
    assert checked > 20


@pytest.mark.parametrize("over,message", [
    ({"workdays": "abc"}, "时限（工作日）：应为整数"),
    ({"workdays": "0"}, "时限（工作日）：应为 1 到 250 之间的整数"),
    ({"workdays": "", "deadline": "2020-01-01"}, "整改时限：不能早于交办日期"),
    ({"workdays": "", "deadline": "2026-02-30"}, "整改时限不是有效的日期"),
    ({"title": ""}, "请填写事项"),
    ({"title": "长" * 201}, "事项过长"),
    ({"list": "later"}, "清单不在可选范围内"),
    ({"issuer": "JY"}, "不在交办单位"),
])
def test_bad_input_on_the_new_item_form_is_named_and_writes_nothing(tree, personas, over, message):
    c = factories.login(personas["wc_admin"])
    form = {"issuer": "CZ", "org": "CZ01", "list": "task", "title": "完善台账", "workdays": "10",
            "source": "manual"}
    r = c.post(reverse("rectification:new"), {**form, **over})
    assert r.status_code == 200 and message in text(r)
    assert not Item.objects.exists()


def test_a_move_the_side_may_not_make_is_refused_with_a_message(tree, personas, item):
    c = factories.login(personas["secretary_a1"])
    r = c.post(reverse("rectification:move", args=[item.pk, "close"]), {"text": "自行销号"}, follow=True)
    assert "该事项待签收，您所在的一方现在不能销号" in text(r)
    assert Item.objects.get(pk=item.pk).status == Item.Status.PENDING
    assert c.post(reverse("rectification:move", args=[item.pk, "nonsense"]), {}).status_code == 404


def test_the_board_takes_the_same_number_of_queries_however_many_items(tree, personas):
    c = factories.login(personas["wc_admin"])

    def count():
        c.get(reverse("rectification:board"))
        with CaptureQueriesContext(connection) as ctx:
            c.get(reverse("rectification:board"))
        return len(ctx)

    opened(tree, personas)
    few = count()
    for i in range(12):
        opened(tree, personas, org=("a1", "b1")[i % 2], title=f"事项{i}")
    assert count() == few
