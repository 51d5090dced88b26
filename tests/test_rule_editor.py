"""The rule editor: every user reads the frequency requirements with their sources; only 工委
staff change one, as a new version from an effective date with its history; bad input names
the field and writes nothing; a change re-judges the periods from its date on."""
import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.activities import compliance
from dangjian.activities import services as acts
from dangjian.activities.models import ActivityRule, ComplianceRow
from dangjian.core.models import AuditEntry
from tests.factories import login
from tests.factories import page_text as text

TODAY = timezone.localdate()
MONTH_START = TODAY.replace(day=1)
LAST_MONTH = (MONTH_START - dt.timedelta(days=1)).replace(day=1)



def rule(code: str) -> ActivityRule:
    return ActivityRule.objects.get(code=code, effective_to__isnull=True)


def row_of(page: str, code: str) -> str:
    """The list's row of a requirement (it carries the id of the version it shows)."""
    ids = "|".join(str(pk) for pk in ActivityRule.objects.filter(code=code).values_list("pk", flat=True))
    return re.search(rf'data-rule="(?:{ids})">(.*?)</tr>', page, re.S).group(1)


def form_data(r: ActivityRule, **over) -> dict:
    data = {"effective_from": MONTH_START.isoformat(), "period": r.period, "min_count": str(r.min_count),
            "quorum": r.quorum, "org_kinds": list(r.org_kinds), "condition": r.condition, "source": r.source,
            "note": r.note}
    if r.confirmed:
        data["confirmed"] = "on"
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def state() -> tuple:
    return (sorted(ActivityRule.objects.values_list("code", "effective_from", "effective_to", "min_count")),
            AuditEntry.objects.filter(table="activities.activityrule").count())


@pytest.mark.parametrize("who", ["wc_admin", "unit_admin_b", "secretary_a1", "member_a", "leader"])
def test_everyone_reads_the_rules_and_their_sources(personas, who):
    c = login(personas[who])
    page = text(c.get("/activities/rules/"))
    for r in ActivityRule.objects.all():
        assert f'data-rule="{r.pk}"' in page
        assert r.source in page
    gm = row_of(page, "general_meeting")
    assert ("每季度" in gm and "有表决权党员过半数到会" in gm and "《中国共产党支部工作条例（试行）》第十一条" in gm
            and "已核对原文" in gm)
    lecture = row_of(page, "party_lecture")
    assert "原文待核对" in lecture
    cm = row_of(page, "committee_meeting")
    assert "党支部" in cm and "设支部委员会的组织" in cm
    detail = c.get(f"/activities/rules/{rule('theme_day').pk}/")
    assert detail.status_code == 200 and "《中国共产党党员教育管理工作条例》第十六条" in text(detail)
    # Only 工委 staff are offered (and given) the change form.
    staff = who == "wc_admin"
    assert ("/change/" in page) is staff and ("/change/" in text(detail)) is staff
    assert c.get(f"/activities/rules/{rule('theme_day').pk}/change/").status_code == (200 if staff else 404)


@pytest.mark.parametrize("who", ["unit_admin_a", "unit_admin_b", "secretary_a1", "member_a", "leader"])
def test_only_working_committee_staff_change_rules(personas, who):
    before = state()
    r = rule("theme_day")
    resp = login(personas[who]).post(f"/activities/rules/{r.pk}/change/", form_data(r, min_count="3"))
    assert resp.status_code == 404
    assert state() == before


def test_change_makes_a_version_with_history_and_rejudges_from_its_date(tree, personas, settings,
                                                                        django_capture_on_commit_callbacks):
    settings.JOBS_MODE = "sync"  # the recomputation runs inside the request, so its result can be read here
    a1 = tree["a1"]
    held = acts.record_activity(None, a1, ["theme_day"], MONTH_START, topic="本月主题党日")
    acts.record_activity(None, a1, ["theme_day"], LAST_MONTH, topic="上月主题党日")
    compliance.recompute(LAST_MONTH, TODAY, org_ids=[a1.pk])
    this_month = ComplianceRow.objects.get(org=a1, code="theme_day", period=f"{TODAY:%Y-%m}")
    assert (this_month.required, this_month.status, this_month.evidence) == (1, "met", [held.pk])

    old = rule("theme_day")
    c = login(personas["wc_admin"])
    form = text(c.get(f"/activities/rules/{old.pk}/change/"))
    next_month = (MONTH_START + dt.timedelta(days=32)).replace(day=1)
    assert f'value="{next_month:%Y-%m-%d}"' in form  # a change starts with a period by default
    assert 'value="《中国共产党党员教育管理工作条例》第十六条"' in form
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post(f"/activities/rules/{old.pk}/change/",
                      form_data(old, min_count="2", note="本市要求每月两次", confirmed=None,
                                source="市直机关工委 2026 年 3 号文"))
    assert resp.status_code == 302, text(resp)
    new = rule("theme_day")
    assert resp["Location"] == f"/activities/rules/{new.pk}/"
    old.refresh_from_db()
    assert old.effective_to == MONTH_START - dt.timedelta(days=1)
    assert (new.effective_from, new.min_count, new.confirmed, new.source) == (
        MONTH_START, 2, False, "市直机关工委 2026 年 3 号文")

    page = text(c.get(resp["Location"]))
    assert "正在后台重新计算" in page
    assert "最少次数由“1 次”改为“2 次”" in page and "依据由“《中国共产党党员教育管理工作条例》第十六条”改为" in page
    assert page.count("data-version=") == 2 and 'data-state="ended"' in page
    history = page.split("变更记录")[1]
    assert "wcadmin" in history and f"规则调整：自 {MONTH_START:%Y-%m-%d} 起生效" in history
    assert "规则调整：旧版本截止" in history and "position" not in history

    # This month is judged by the new version, last month still by the old one.
    this_month = ComplianceRow.objects.get(org=a1, code="theme_day", period=f"{TODAY:%Y-%m}")
    assert (this_month.required, this_month.status, this_month.rule_id) == (2, "due", new.pk)
    before = ComplianceRow.objects.get(org=a1, code="theme_day", period=f"{LAST_MONTH:%Y-%m}")
    assert (before.required, before.status, before.rule_id) == (1, "met", old.pk)

    listing = text(c.get("/activities/rules/"))
    row = row_of(listing, "theme_day")
    assert "市直机关工委 2026 年 3 号文" in row and "原文待核对" in row and "2 个版本" in row
    # The old version's change form leads to the latest one.
    r = c.get(f"/activities/rules/{old.pk}/change/")
    assert r.status_code == 302 and r["Location"] == f"/activities/rules/{new.pk}/change/"
    # A form left open on the old version is refused, naming why.
    before = state()
    r = c.post(f"/activities/rules/{old.pk}/change/", form_data(old, min_count="3"))
    assert r.status_code == 200 and "生效日期：该规则已有更新的版本，请修改最新版本" in text(r)
    assert state() == before


def test_a_future_change_is_listed_as_coming(personas):
    old = rule("general_meeting")
    later = MONTH_START.replace(year=TODAY.year + 1)
    c = login(personas["wc_admin"])
    resp = c.post(f"/activities/rules/{old.pk}/change/",
                  form_data(old, effective_from=later.isoformat(), period="month"))
    assert resp.status_code == 302, text(resp)
    listing = text(c.get("/activities/rules/"))
    row = row_of(listing, "general_meeting")
    assert "每季度" in row and f"{later:%Y-%m-%d} 起将调整" in row
    page = text(c.get(f"/activities/rules/{old.pk}/"))
    assert 'data-state="upcoming"' in page and "周期由“每季度”改为“每月”" in page


@pytest.mark.parametrize("code, over, message", [
    ("theme_day", {"effective_from": ""}, "请填写生效日期"),
    ("theme_day", {"effective_from": "2026-02-30"}, "生效日期不是有效的日期"),
    ("theme_day", {"effective_from": "1999-12-31"}, "生效日期：应晚于现行版本的生效日期（2000-01-01）"),
    ("theme_day", {"effective_from": f"{TODAY.year + 30}-01-01"}, "生效日期：不能晚于"),
    ("theme_day", {"min_count": "-1"}, "最少次数不能小于 0"),
    ("theme_day", {"min_count": "100"}, "最少次数不能大于 99"),
    ("theme_day", {"min_count": "两次"}, "最少次数应为整数"),
    ("theme_day", {"period": "fortnight"}, "周期不在可选范围内"),
    ("theme_day", {"quorum": "all"}, "到会要求不在可选范围内"),
    ("theme_day", {"org_kinds": []}, "请至少选择一种适用组织类别"),
    ("general_meeting", {"org_kinds": ["cell"]}, "适用组织类别：“cell”不在可选范围内"),
    ("theme_day", {"condition": "lecture_by_secretary"}, "适用条件不在可选范围内"),
    ("theme_day", {"source": "  "}, "请写明调整的依据"),
    ("theme_day", {"source": "依" * 301}, "依据过长"),
    ("theme_day", {}, "没有修改任何内容"),
])
def test_bad_input_names_the_field_and_writes_nothing(personas, code, over, message):
    r = rule(code)
    before = state()
    resp = login(personas["wc_admin"]).post(f"/activities/rules/{r.pk}/change/", form_data(r, **over))
    assert resp.status_code == 200
    assert message in text(resp)
    assert state() == before


def test_service_checks_what_a_form_cannot_send(db):
    r = rule("general_meeting")
    with pytest.raises(acts.ActivityError, match="党小组不开展“支部党员大会”") as e:
        acts.change_rule(None, r, MONTH_START, org_kinds=["branch", "cell"])
    assert e.value.field == "org_kinds"
    with pytest.raises(acts.ActivityError, match="“club”不是组织类别"):
        acts.change_rule(None, r, MONTH_START, org_kinds=["club"])
    with pytest.raises(acts.ActivityError, match="“由本组织书记讲授”只适用于党课") as e:
        acts.change_rule(None, r, MONTH_START, condition="lecture_by_secretary")
    assert e.value.field == "condition"
    with pytest.raises(acts.ActivityError, match="0 到 99") as e:
        acts.change_rule(None, r, MONTH_START, min_count=True)
    assert e.value.field == "min_count"
    # The same set of org kinds in another order is no change.
    assembly = rule("organ_member_assembly")
    with pytest.raises(acts.ActivityError, match="没有修改任何内容"):
        acts.change_rule(None, assembly, MONTH_START, org_kinds=list(reversed(assembly.org_kinds)))
    new = acts.change_rule(None, assembly, MONTH_START, org_kinds=list(reversed(assembly.org_kinds)), min_count=2)
    assert new.org_kinds == assembly.org_kinds
    assert ActivityRule.objects.filter(code="general_meeting").count() == 1


def test_pages_run_a_fixed_number_of_queries(personas):
    c = login(personas["wc_admin"])
    r = rule("talk")

    def queries(url):
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url).status_code == 200
        return len(ctx)

    first = rule("talk")
    urls = ["/activities/rules/", f"/activities/rules/{first.pk}/"]
    small = [queries(u) for u in urls]
    for i in range(1, 6):
        r = acts.change_rule(personas["wc_admin"], r, dt.date(2020 + i, 1, 1), min_count=i + 1, note=f"第{i}次调整")
    assert [queries(u) for u in urls] == small
