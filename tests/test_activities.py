"""Organizational-life records: the services' rules, history and derived figures."""
import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dangjian.activities import services as acts
from dangjian.activities.models import Activity, ActivityKind, ActivityRule, Attendance, ComplianceRow
from dangjian.activities.seed import rule_specs, seed_rules
from dangjian.core import audit
from dangjian.core.models import AuditEntry
from dangjian.orgs import services as org_services
from tests import factories
from tests.factories import TODAY, branch_with, everyone, record


def test_record_counts_as_several_kinds_and_keeps_recorded_at(tree):
    b = branch_with(tree["a"], full=4)
    user = factories.user("branch_secretary", b)
    a = acts.record_activity(user, b, ["theme_day", "general_meeting", "party_lecture"], dt.date(2025, 3, 31),
                             topic="学习党章", lecturer=b.people[0], attendance=everyone(b), today=TODAY)
    rows = ActivityKind.objects.filter(activity=a)
    assert sorted(r.kind for r in rows) == ["general_meeting", "party_lecture", "theme_day"]
    assert {(r.org_id, r.held_on, r.month) for r in rows} == {(b.pk, dt.date(2025, 3, 31), 202503)}
    assert a.recorded_by == user and a.recorded_at is not None and a.month == 202503
    assert (a.voting_expected, a.voting_present, a.expected_count, a.present_count) == (4, 4, 4, 4)
    # recorded_at is the platform's: an update cannot set it, and it does not move
    stamp = a.recorded_at
    with pytest.raises(acts.ActivityError) as e:
        acts.update_activity(user, a, recorded_at=dt.datetime(2020, 1, 1), today=TODAY)
    assert e.value.field == "recorded_at"
    acts.update_activity(user, a, topic="学习新党章", today=TODAY)
    a.refresh_from_db()
    assert a.recorded_at == stamp and a.topic == "学习新党章"
    entries = list(audit.history(a))
    assert {e.action for e in entries} == {"create", "update"}
    assert any("主题党日" in e.note for e in entries)


@pytest.mark.parametrize("kwargs, field, text", [
    (dict(day=dt.date(2025, 8, 16)), "held_on", "将来"),
    (dict(kinds=[]), "kinds", "至少选择"),
    (dict(kinds=["bogus"]), "kinds", "不是有效"),
    (dict(kinds=["cell_meeting"]), "kinds", "不开展"),
    (dict(kinds=["talk", "theme_day"]), "kinds", "单独记录"),
    (dict(lecturer="first"), "lecturer", "只有党课"),
])
def test_bad_input_names_the_field(tree, kwargs, field, text):
    b = branch_with(tree["a"], full=3)
    if kwargs.get("lecturer") == "first":
        kwargs["lecturer"] = b.people[0]
    day = kwargs.pop("day", dt.date(2025, 5, 1))
    kinds = kwargs.pop("kinds", ["theme_day"])
    with pytest.raises(acts.ActivityError) as e:
        record(b, kinds, day, **kwargs)
    assert e.value.field == field and text in e.value.message
    assert e.value.message.startswith(acts.FIELD_LABELS[field])
    assert not Activity.objects.exists() and not ActivityKind.objects.exists()


def test_attendance_rules(tree):
    b = branch_with(tree["a"], full=3)
    outsider = tree["mb"]  # a member of another department's branch
    with pytest.raises(acts.ActivityError, match="不是.*的党员，只能登记为列席"):
        record(b, ["theme_day"], dt.date(2025, 5, 1), attendance={outsider.pk: "present"})
    with pytest.raises(acts.ActivityError, match="请填写请假事由"):
        record(b, ["theme_day"], dt.date(2025, 5, 1), attendance={b.people[1].pk: ("excused", " ")})
    with pytest.raises(acts.ActivityError, match="不是有效的出席情况"):
        record(b, ["theme_day"], dt.date(2025, 5, 1), attendance={b.people[1].pk: "late"})
    with pytest.raises(acts.ActivityError, match="不存在"):
        record(b, ["theme_day"], dt.date(2025, 5, 1), attendance={999999: "present"})
    assert not Activity.objects.exists()
    a = record(b, ["theme_day"], dt.date(2025, 5, 1), attendance={
        b.people[0].pk: "present", b.people[1].pk: ("excused", "出差"), b.people[2].pk: "absent",
        outsider.pk: "observer",
    })
    got = {x.member_id: (x.status, x.reason) for x in Attendance.objects.filter(activity=a)}
    assert got[b.people[1].pk] == ("excused", "出差") and got[outsider.pk] == ("observer", "")
    # observers are not expected: 应到 3 (present, excused, absent), 实到 1
    assert (a.expected_count, a.present_count) == (3, 1)
    assert AuditEntry.objects.filter(table="activities.attendance", object_id=a.pk).exists()


def test_cell_meeting_takes_the_branch_members(tree):
    b = branch_with(tree["a"], full=3)
    cell = factories.org(b, kind="cell")
    a = record(cell, ["cell_meeting"], dt.date(2025, 5, 6), attendance=everyone(b))
    assert a.present_count == 3


def test_dissolved_org_and_duplicates_refused(tree):
    empty = factories.org(tree["a"], kind="branch")
    org_services.dissolve_org(None, empty, dt.date(2025, 1, 1))
    with pytest.raises(acts.ActivityError, match="已撤销") as e:
        record(empty, ["theme_day"], dt.date(2024, 12, 1))
    assert e.value.field == "org"
    b = branch_with(tree["a"], full=3)
    record(b, ["theme_day", "party_lecture"], dt.date(2025, 5, 1), topic="七一主题党日")
    with pytest.raises(acts.ActivityError, match="请勿重复提交"):
        record(b, ["party_lecture", "theme_day"], dt.date(2025, 5, 1), topic="七一主题党日")
    # a different topic, or a different set of kinds, is another record
    record(b, ["theme_day"], dt.date(2025, 5, 1), topic="七一主题党日")
    record(b, ["theme_day", "party_lecture"], dt.date(2025, 5, 1), topic="另一次")
    assert Activity.objects.filter(org=b).count() == 3


def test_talk_has_two_parties_and_no_content(tree):
    b = branch_with(tree["a"], full=3)
    p = b.people
    with pytest.raises(acts.ActivityError, match="两人"):
        record(b, ["talk"], dt.date(2025, 4, 1), talk_parties=[p[0]])
    with pytest.raises(acts.ActivityError, match="同一人"):
        record(b, ["talk"], dt.date(2025, 4, 1), talk_parties=[p[0], p[0]])
    with pytest.raises(acts.ActivityError, match="不记录谈话内容") as e:
        record(b, ["talk"], dt.date(2025, 4, 1), talk_parties=[p[0], p[1]], minutes="谈了工作")
    assert e.value.field == "minutes"
    with pytest.raises(acts.ActivityError, match="只有谈心谈话"):
        record(b, ["theme_day"], dt.date(2025, 4, 1), talk_parties=[p[0], p[1]])
    a = record(b, ["talk"], dt.date(2025, 4, 1), talk_parties=[p[0].pk, p[1].pk])
    assert (a.talk_party_a, a.talk_party_b) == (p[0], p[1]) and a.minutes == ""


def test_quorum_figures_exclude_exempt_members_unless_present(tree):
    b = branch_with(tree["a"], full=6, probationary=2, committee=True, exempt=2)
    p = b.people
    exempt = [m for m in p if m.is_exempt]
    assert len(exempt) == 2
    a = record(b, ["general_meeting", "committee_meeting"], dt.date(2025, 6, 3),
               attendance={p[0].pk: "present", p[1].pk: "present", p[6].pk: "present", exempt[0].pk: "present"})
    # voting: full members (6) minus the exempt one who stayed away = 5; present full = p0, p1, exempt[0]
    assert (a.voting_expected, a.voting_present) == (5, 3)
    # committee: three seats held, two of them present
    assert (a.committee_expected, a.committee_present) == (3, 2)


def test_withdraw_keeps_the_record_and_stops_counting(tree):
    b = branch_with(tree["a"], full=3)
    a = record(b, ["theme_day"], dt.date(2025, 5, 1))
    with pytest.raises(acts.ActivityError, match="撤回原因"):
        acts.withdraw_activity(None, a, "")
    acts.withdraw_activity(None, a, "重复录入")
    a.refresh_from_db()
    assert a.status == "withdrawn" and a.withdrawn_reason == "重复录入"
    assert not ActivityKind.objects.filter(activity=a, is_active=True).exists()
    assert audit.history(a).filter(action="withdraw").exists()
    with pytest.raises(acts.ActivityError, match="已撤回"):
        acts.update_activity(None, a, topic="x", today=TODAY)
    # withdrawn: the same record may be entered again
    record(b, ["theme_day"], dt.date(2025, 5, 1))


def test_update_moves_kind_rows_and_recomputes_figures(tree):
    b = branch_with(tree["a"], full=4)
    a = record(b, ["theme_day"], dt.date(2025, 3, 31), attendance=everyone(b))
    acts.update_activity(None, a, held_on=dt.date(2025, 4, 1), kinds=["theme_day", "general_meeting"],
                         attendance={b.people[0].pk: "present"}, today=TODAY)
    rows = list(ActivityKind.objects.filter(activity=a).order_by("kind"))
    assert [(r.kind, r.month) for r in rows] == [("general_meeting", 202504), ("theme_day", 202504)]
    a.refresh_from_db()
    assert (a.voting_expected, a.voting_present, a.present_count) == (4, 1, 1)


def test_attachments_checked_and_optional(tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    b = branch_with(tree["a"], full=3)
    a = record(b, ["theme_day"], dt.date(2025, 5, 1))  # no attachment needed
    with pytest.raises(acts.ActivityError, match="类型不支持") as e:
        acts.add_attachment(None, a, SimpleUploadedFile("run.exe", b"MZ\x90\x00", "application/octet-stream"))
    assert e.value.field == "file"
    with pytest.raises(acts.ActivityError, match="内容与扩展名"):
        acts.add_attachment(None, a, SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))
    with pytest.raises(acts.ActivityError, match="与扩展名不符"):
        acts.add_attachment(None, a, SimpleUploadedFile("scan.pdf", b"%PDF-1.4", "text/html"))
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * acts.ATTACHMENT_MAX_BYTES, "application/pdf")
    with pytest.raises(acts.ActivityError, match="超过"):
        acts.add_attachment(None, a, big)
    att = acts.add_attachment(None, a, SimpleUploadedFile("签到表.pdf", b"%PDF-1.4 ok", "application/pdf"))
    assert att.size == 11 and att.content_type == "application/pdf" and att.name == "签到表.pdf"
    assert a.attachments.count() == 1


def test_rules_seeded_once_and_never_overwritten(db):
    codes = {s["code"] for s in rule_specs()}
    assert "training_hours" not in codes and "party_lecture_by_secretary" in codes
    assert set(ActivityRule.objects.values_list("code", flat=True)) == codes  # seeded by migrate
    gm = ActivityRule.objects.get(code="general_meeting")
    assert (gm.period, gm.quorum, gm.org_kinds, gm.confirmed) == ("quarter", "half_voting", ["branch"], True)
    assert "第十一条" in gm.source
    cm = ActivityRule.objects.get(code="committee_meeting")
    assert (cm.condition, cm.quorum) == ("has_committee", "half_committee")
    assert ActivityRule.objects.get(code="party_lecture").confirmed is False
    ActivityRule.objects.filter(code="theme_day").update(min_count=2)
    assert seed_rules() == 0
    assert ActivityRule.objects.get(code="theme_day").min_count == 2
    ActivityRule.objects.filter(code="talk").delete()
    assert seed_rules() == 1


def test_change_rule_keeps_history(db):
    rule = ActivityRule.objects.get(code="party_lecture")
    new = acts.change_rule(None, rule, dt.date(2025, 7, 1), period="month", note="本市要求每月一次")
    rule.refresh_from_db()
    assert rule.effective_to == dt.date(2025, 6, 30) and new.effective_to is None
    assert (new.period, new.code, new.kind) == ("month", "party_lecture", "party_lecture")
    assert audit.history(new).get().action == "create" and audit.history(rule).get().changes["effective_to"]
    with pytest.raises(acts.ActivityError, match="更新的版本"):
        acts.change_rule(None, rule, dt.date(2025, 8, 1), min_count=2)
    with pytest.raises(acts.ActivityError) as e:
        acts.change_rule(None, new, dt.date(2025, 9, 1), period="fortnight")
    assert e.value.field == "period"


def test_changes_recompute_stored_rows_after_commit(transactional_db, tree):
    """Real commits (not a test transaction): the job runs when the write commits."""
    b = branch_with(tree["a"], full=3)
    today = dt.date.today()
    day = today.replace(day=1)
    a = acts.record_activity(None, b, ["theme_day"], day)
    row = ComplianceRow.objects.get(org=b, code="theme_day", period=f"{day:%Y-%m}")
    assert row.status == "met" and row.evidence == [a.pk]
    quarter = ComplianceRow.objects.get(org=b, code="general_meeting", period__contains="Q")
    assert quarter.status == "due" and quarter.held == 0
    acts.withdraw_activity(None, a, "误录")
    row = ComplianceRow.objects.get(org=b, code="theme_day", period=f"{day:%Y-%m}")
    assert row.status == "due" and row.evidence == [] and row.held == 0
    assert ActivityRule.objects.filter(code="theme_day").exists()


def test_plain_member_sees_only_meetings_listed_at(tree, personas):
    b1 = tree["a1"]
    a = acts.record_activity(None, b1, ["theme_day"], dt.date(2025, 5, 1), today=TODAY,
                             attendance={tree["ma"].pk: "present"})
    acts.record_activity(None, b1, ["theme_day"], dt.date(2025, 6, 1), today=TODAY)
    assert list(Activity.objects.visible_to(personas["member_a"])) == [a]
    assert Activity.objects.visible_to(personas["unit_admin_a"]).count() == 2
    assert Activity.objects.visible_to(personas["unit_admin_b"]).count() == 0


def test_import_may_supply_counts(tree):
    b = branch_with(tree["a"], full=3)
    a = record(b, ["general_meeting"], dt.date(2024, 3, 1), source="imported",
               counts={"voting_expected": 30, "voting_present": 20, "expected_count": 30, "present_count": 20})
    assert (a.voting_expected, a.voting_present, a.source) == (30, 20, "imported")
    with pytest.raises(acts.ActivityError, match="不能多于") as e:
        record(b, ["general_meeting"], dt.date(2024, 4, 1), counts={"expected_count": 3, "present_count": 9})
    assert e.value.field == "counts"
