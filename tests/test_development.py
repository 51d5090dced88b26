"""发展党员: the catalog, the timeline rules on both sides of every limit, refusals that write
nothing, admission onto the roster (once, with history), figures against a count made another
way, scoping, the command's contract, the board's query count and a phone-sized browser flow."""
import datetime as dt
import json

import openpyxl
import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import example, given
from hypothesis import strategies as st

from dangjian.core.models import AuditEntry
from dangjian.development import catalog, checks, queries, services
from dangjian.development.checks import DevelopmentError, StepInput
from dangjian.development.models import Applicant, DevelopmentStep, TimelineRule
from dangjian.development.rules import Rules, add_months, age_on
from dangjian.members.models import Member, Membership
from tests import factories

TODAY = dt.date(2030, 1, 1)
RULES = Rules([])  # the seeded defaults, without the database
APPLIED = dt.date(2023, 1, 10)
BORN = dt.date(2000, 3, 1)


def row(code, day, decision="", expected=None, present=None, for_=None, days=None, hours=None, ext=None,
        approver_kind=None, consulted=False):
    return (1, code, day, decision, expected, present, for_, days, hours, ext, approver_kind, consulted)


def rules_broken(rows, applied=APPLIED, born=BORN, active=True, today=TODAY):
    return {v.rule for v in checks.judge(1, "甲", "B01", born, applied, active, rows, today, RULES)}


days = st.integers(min_value=0, max_value=800)


# ---- the catalog -------------------------------------------------------------------------------

def test_catalog_is_twenty_five_steps_in_five_stages_in_order():
    assert len(catalog.STEPS) == 25
    assert [s.order for s in catalog.STEPS] == list(range(1, 26))
    assert [s.stage for s in catalog.STEPS][0] == "application" and catalog.STEPS[-1].stage == "full"
    assert {s.stage for s in catalog.STEPS} == set(catalog.Stage.ORDER)
    assert all(s.article.startswith("第") for s in catalog.STEPS)


def test_rules_are_seeded_as_data_with_sources_and_an_effective_date(db):
    rows = {r.code: r for r in TimelineRule.objects.all()}
    assert {"min_age", "talk_within", "activist_review", "activist_min", "training_days", "training_hours",
            "approval_within", "probation", "extension", "confirm_within"} <= set(rows)
    assert rows["approval_within"].value == 3 and rows["approval_within"].value_max == 6
    assert rows["extension"].value == 6 and rows["extension"].value_max == 12
    assert all(r.source and r.effective_from == dt.date(2014, 5, 28) for r in rows.values())


def test_a_later_rule_row_applies_from_its_date_only(db):
    TimelineRule.objects.create(code="talk_within", name="两个月内谈话", value=2, unit="月", source="测试",
                                effective_from=dt.date(2025, 1, 1))
    from dangjian.development.rules import load

    rules = load()
    assert rules.on("talk_within", dt.date(2024, 12, 31)).value == 1
    assert rules.on("talk_within", dt.date(2025, 1, 1)).value == 2


# ---- every timeline rule on both sides of its limit ----------------------------------------------

@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2012, 12, 31)))
@example(dt.date(2005, 1, 10))  # eighteen on the day
@example(dt.date(2005, 1, 11))  # one day short
def test_min_age(born):
    broken = "min_age" in rules_broken([row("apply", APPLIED)], born=born)
    assert broken == (age_on(born, APPLIED) < 18)


@given(days)
@example(31)  # 2023-02-10: one month to the day
@example(32)
def test_talk_within_one_month(offset):
    talk = APPLIED + dt.timedelta(days=offset)
    broken = "talk_within" in rules_broken([row("apply", APPLIED), row("talk", talk)])
    assert broken == (talk > dt.date(2023, 2, 10))


@pytest.mark.parametrize("today, broken", [(dt.date(2023, 2, 10), False), (dt.date(2023, 2, 11), True)])
def test_talk_not_held_is_flagged_once_the_month_has_passed(today, broken):
    assert ("talk_within" in rules_broken([row("apply", APPLIED)], today=today)) == broken
    assert "talk_within" not in rules_broken([row("apply", APPLIED)], today=today, active=False)


@given(days)
@example(184)  # 2023-03-01 + 6 months = 2023-09-01 (184 days)
@example(185)
def test_activist_reviewed_every_six_months(gap):
    recommend = dt.date(2023, 3, 1)
    review = recommend + dt.timedelta(days=gap)
    rows = [row("apply", APPLIED), row("talk", APPLIED), row("recommend", recommend, "yes"),
            row("activist_review", review)]
    broken = "activist_review" in rules_broken(rows, today=review)
    assert broken == (review > add_months(recommend, 6))


@given(st.integers(min_value=300, max_value=430))
@example(366)  # 2024-03-01: a year to the day (2024 is a leap year)
@example(365)
def test_a_year_as_activist_before_becoming_a_candidate(offset):
    recommend = dt.date(2023, 3, 1)
    candidate = recommend + dt.timedelta(days=offset)
    rows = [row("apply", APPLIED), row("talk", APPLIED), row("recommend", recommend, "yes"),
            row("activist_review", recommend + dt.timedelta(days=150)),
            row("activist_review", recommend + dt.timedelta(days=300)), row("candidate", candidate, "yes")]
    assert ("activist_min" in rules_broken(rows)) == (candidate < dt.date(2024, 3, 1))


@given(st.integers(min_value=0, max_value=10), st.integers(min_value=0, max_value=60))
@example(3, 0)
@example(2, 24)
@example(2, 23)
def test_training_three_days_or_twenty_four_hours(d, h):
    rows = [row("apply", APPLIED), row("training", dt.date(2024, 5, 1), days=d, hours=h)]
    assert ("training_min" in rules_broken(rows)) == (d < 3 and h < 24)


@pytest.mark.parametrize("review, decision, broken", [
    (dt.date(2024, 6, 1), "yes", False),   # the day before
    (dt.date(2024, 6, 2), "yes", False),   # the same day
    (dt.date(2024, 6, 3), "yes", True),    # after the meeting
    (dt.date(2024, 6, 1), "no", True),     # not passed
])
def test_political_review_before_the_branch_meeting(review, decision, broken):
    rows = [row("apply", APPLIED), row("political_review", review, decision),
            row("branch_meeting", dt.date(2024, 6, 2), "yes", 9, 8, 8)]
    rows.sort(key=lambda r: r[2])
    assert ("political_review" in rules_broken(rows)) == broken


@given(st.integers(min_value=1, max_value=60), st.data())
@example(9, None)
def test_branch_meeting_quorum_and_majority(expected, data):
    if data is None:
        cases = [(5, 5), (4, 4), (5, 4)]
    else:
        present = data.draw(st.integers(min_value=0, max_value=expected))
        cases = [(present, data.draw(st.integers(min_value=0, max_value=present)))]
    for present, in_favour in cases:
        rows = [row("apply", APPLIED), row("branch_meeting", dt.date(2024, 6, 2), "yes", expected, present, in_favour)]
        broken = rules_broken(rows)
        assert ("quorum" in broken) == (present * 2 <= expected)
        assert ("majority" in broken) == (present * 2 > expected and in_favour * 2 <= expected)


@given(st.integers(min_value=0, max_value=90))
@example(30)
@example(31)
def test_branch_meeting_within_a_month_of_the_pre_review(offset):
    pre = dt.date(2024, 5, 2)
    meeting = pre + dt.timedelta(days=offset)
    rows = [row("apply", APPLIED), row("pre_review", pre, "yes"), row("branch_meeting", meeting, "yes", 9, 8, 8)]
    assert ("branch_meeting_within" in rules_broken(rows)) == (meeting > dt.date(2024, 6, 2))


@given(st.integers(min_value=0, max_value=300))
@example(91)   # 2024-06-02 + 3 months = 2024-09-02 (92 days)
@example(92)
@example(93)
@example(183)  # 2024-12-02: six months (183 days)
@example(184)
def test_approval_within_three_months_at_most_six(offset):
    meeting = dt.date(2024, 6, 2)
    approval = meeting + dt.timedelta(days=offset)
    rows = [row("apply", APPLIED), row("political_review", meeting, "yes"),
            row("branch_meeting", meeting, "yes", 9, 8, 8), row("approval", approval, "yes")]
    broken = rules_broken(rows)
    assert ("approval_within" in broken) == (dt.date(2024, 9, 2) < approval <= dt.date(2024, 12, 2))
    assert ("approval_max" in broken) == (approval > dt.date(2024, 12, 2))


@pytest.mark.parametrize("today, rule", [(dt.date(2024, 9, 2), None), (dt.date(2024, 9, 3), "approval_within"),
                                         (dt.date(2024, 12, 3), "approval_max")])
def test_approval_pending_is_flagged_past_its_limit(today, rule):
    meeting = dt.date(2024, 6, 2)
    rows = [row("apply", APPLIED), row("political_review", meeting, "yes"),
            row("branch_meeting", meeting, "yes", 9, 8, 8)]
    broken = rules_broken(rows, today=today) & {"approval_within", "approval_max"}
    assert broken == ({rule} if rule else set())


def _probation(meetings, today=TODAY):
    meeting = dt.date(2024, 6, 2)
    rows = [row("apply", APPLIED), row("political_review", meeting, "yes"),
            row("branch_meeting", meeting, "yes", 9, 8, 8), row("approval", dt.date(2024, 7, 1), "yes")]
    return rules_broken(rows + meetings, today=today)


@given(st.integers(min_value=300, max_value=430))
@example(365)  # 2025-06-02: a year to the day
@example(364)
def test_one_year_of_probation_before_the_confirmation(offset):
    day = dt.date(2024, 6, 2) + dt.timedelta(days=offset)
    broken = _probation([row("confirm_meeting", day, "yes", 9, 8, 8)])
    assert ("probation" in broken) == (day < dt.date(2025, 6, 2))


@given(st.integers(min_value=0, max_value=30))
@example(5)
@example(6)
@example(12)
@example(13)
def test_one_extension_of_six_to_twelve_months(months):
    broken = _probation([row("confirm_meeting", dt.date(2025, 6, 2), "extend", 9, 8, 8, ext=months)])
    assert ("extension" in broken) == (not 6 <= months <= 12)


def test_a_second_extension_is_flagged():
    broken = _probation([row("confirm_meeting", dt.date(2025, 6, 2), "extend", 9, 8, 8, ext=6),
                         row("confirm_approval", dt.date(2025, 6, 20), "yes"),
                         row("confirm_meeting", dt.date(2025, 12, 2), "extend", 9, 8, 8, ext=6)])
    assert "extension" in broken


@given(st.integers(min_value=0, max_value=200))
@example(92)   # 2025-06-02 + 3 months = 2025-09-02 (92 days)
@example(93)
def test_confirmation_approved_within_three_months(offset):
    meeting = dt.date(2025, 6, 2)
    approval = meeting + dt.timedelta(days=offset)
    broken = _probation([row("confirm_meeting", meeting, "yes", 9, 8, 8), row("confirm_approval", approval, "yes")])
    assert ("confirm_within" in broken) == (approval > dt.date(2025, 9, 2))


@pytest.mark.parametrize("kind, consulted, broken", [("organ_committee", False, True), ("organ_committee", True, False),
                                                     ("committee", False, False)])
def test_the_party_group_is_consulted_before_an_organ_committee_approves(kind, consulted, broken):
    rows = [row("apply", APPLIED), row("approval", dt.date(2024, 7, 1), "yes", approver_kind=kind, consulted=consulted)]
    assert ("party_group" in rules_broken(rows)) == broken


# ---- refused when recorded, nothing written ------------------------------------------------------

@pytest.fixture
def people(tree):
    a1 = tree["a1"]
    return {"sponsors": [factories.member(a1, name="介绍甲"), factories.member(a1, name="介绍乙")],
            "probationary": factories.member(a1, name="预备丙", category="probationary", confirmed_on=None),
            "approver": tree["a"]}


def _written():
    return (Applicant.objects.count(), DevelopmentStep.objects.count(), Member.objects.count(),
            Membership.objects.count(), AuditEntry.objects.count())


def _refused(a, s: StepInput, field, words, user=None):
    before = _written()
    version = Applicant.objects.get(pk=a.pk).version
    with pytest.raises(DevelopmentError) as exc:
        services.record_step(user, a, s, today=TODAY)
    assert exc.value.field == field
    assert words in exc.value.message
    assert _written() == before
    assert Applicant.objects.get(pk=a.pk).version == version


def test_a_step_out_of_order_is_refused(tree, people):
    a = factories.applicant(tree["a1"])
    _refused(a, StepInput("recommend", dt.date(2023, 3, 1), decision="yes"), "code", "下一步应为“党组织派人谈话”")


def test_a_step_dated_before_the_previous_step_is_refused(tree, people):
    a = factories.applicant(tree["a1"])
    _refused(a, StepInput("talk", dt.date(2023, 1, 9), talker=people["sponsors"][0]), "done_on",
             "早于上一步骤“递交入党申请书”的日期 2023-01-10")


def test_a_future_date_is_refused(tree, people):
    a = factories.applicant(tree["a1"])
    _refused(a, StepInput("talk", dt.date(2030, 1, 2), talker=people["sponsors"][0]), "done_on", "晚于今天")


def test_a_sponsor_who_is_not_a_full_member_is_refused(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "activist_file", people["sponsors"], people["approver"])
    _refused(a, StepInput("contacts", dt.date(2023, 3, 12), first_sponsor=people["sponsors"][0],
                          second_sponsor=people["probationary"]),
             "second_sponsor", "是预备党员，培养联系人须由正式党员担任")


def test_introducers_are_two_different_full_members(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "candidate_file", people["sponsors"], people["approver"])
    day = dt.date(2024, 3, 20)
    _refused(a, StepInput("introducers", day, first_sponsor=people["sponsors"][0]), "second_sponsor", "两名正式党员")
    _refused(a, StepInput("introducers", day, first_sponsor=people["sponsors"][0],
                          second_sponsor=people["sponsors"][0]), "second_sponsor", "同一人")


@pytest.mark.parametrize("expected, present, in_favour, field", [(10, 5, 5, "vote_present"), (10, 6, 5, "vote_for"),
                                                                 (10, 11, 5, "vote_present"), (10, 6, 7, "vote_for")])
def test_a_branch_resolution_without_quorum_or_majority_is_refused(tree, people, expected, present, in_favour, field):
    a = factories.develop(factories.applicant(tree["a1"]), "volunteer_form", people["sponsors"], people["approver"])
    day = Applicant.objects.get(pk=a.pk).steps.order_by("-done_on").first().done_on + dt.timedelta(days=3)
    _refused(a, StepInput("branch_meeting", day, decision="yes", vote_expected=expected, vote_present=present,
                          vote_for=in_favour), field, "")


def test_an_applicant_under_eighteen_is_refused(tree):
    before = _written()
    with pytest.raises(DevelopmentError) as exc:
        factories.applicant(tree["a1"], birth=dt.date(2005, 1, 11), applied_on=dt.date(2023, 1, 10))
    assert exc.value.field == "applied_on" and "未满 18 周岁" in exc.value.message
    assert _written() == before
    assert factories.applicant(tree["a1"], birth=dt.date(2005, 1, 10), applied_on=dt.date(2023, 1, 10)).pk


def test_an_approver_that_is_not_above_the_branch_is_refused(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "committee_talk", people["sponsors"], people["approver"])
    day = a.steps.order_by("-done_on").first().done_on + dt.timedelta(days=5)
    _refused(a, StepInput("approval", day, decision="yes", approver=tree["b"]), "approver", "不是培养党支部的上级党委")


def test_a_second_extension_is_refused(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "confirm_request", people["sponsors"], people["approver"])
    meeting = next(d for c, d, _ in factories.development_plan(a.applied_on) if c == "confirm_meeting")
    vote = {"vote_expected": 9, "vote_present": 8, "vote_for": 8}
    _refused(a, StepInput("confirm_meeting", meeting, decision="extend", extension_months=13, **vote),
             "extension_months", "最长不超过 12 个月")
    services.record_step(None, a, StepInput("confirm_meeting", meeting, decision="extend", extension_months=6, **vote),
                         today=TODAY)
    services.record_step(None, a, StepInput("confirm_approval", meeting + dt.timedelta(days=20), decision="yes",
                                            approver=tree["a"], party_group_consulted=True), today=TODAY)
    a.refresh_from_db()
    assert a.stage == "probationary" and a.member.category == "probationary"
    later = add_months(meeting, 6)
    _refused(a, StepInput("confirm_meeting", later, decision="extend", extension_months=6, **vote), "decision",
             "只能延长一次")


def test_a_user_outside_the_branch_cannot_record(tree, people, personas):
    a = factories.applicant(tree["a1"])
    _refused(a, StepInput("talk", dt.date(2023, 1, 20), talker=people["sponsors"][0]), "org", "不在您的权限范围内",
             user=personas["unit_admin_b"])


# ---- admission onto the roster -------------------------------------------------------------------

def test_admission_enters_the_roster_once_with_history_and_confirmation_makes_a_full_member(tree, people):
    a = factories.applicant(tree["a1"], name="钱新")
    members = Member.objects.count()
    a = factories.develop(a, "committee_talk", people["sponsors"], people["approver"])
    assert a.member_id is None and Member.objects.count() == members
    a = factories.develop(a, "approval", people["sponsors"], people["approver"])
    approval = a.steps.get(code="approval").done_on
    m = a.member
    assert (m.name, m.category, m.joined_on, m.org_id, m.status) == ("钱新", "probationary", approval, a.org_id, "active")
    assert Member.objects.count() == members + 1
    assert list(m.memberships.values_list("started_on", "reason")) == [(approval, services.ADMITTED)]
    assert m.id_number == a.id_number and m.id_mask == a.id_mask
    assert a.stage == "probationary"
    a = factories.develop(a, "archive", people["sponsors"], people["approver"])
    m.refresh_from_db()
    assert Member.objects.count() == members + 1
    assert (m.category, m.confirmed_on) == ("full", a.steps.get(code="confirm_approval").done_on)
    assert (a.stage, a.status) == ("full", "done")
    assert a.steps.count() == 1 + 25 - 1 + 1  # 25 steps with two activist reviews
    assert checks.violations(Applicant.objects.filter(pk=a.pk), TODAY) == []
    assert AuditEntry.objects.filter(table="development.applicant", object_id=a.pk).exists()


def test_a_refused_admission_writes_nothing(tree, people):
    a = factories.develop(factories.applicant(tree["a1"], name="孙重"), "committee_talk", people["sponsors"],
                          people["approver"])
    # Someone entered the same person on the roster meanwhile.
    factories.member(tree["b1"], name="孙重", id_number=a.id_number, birth=a.birth_date)
    day = a.steps.order_by("-done_on").first().done_on + dt.timedelta(days=5)
    _refused(a, StepInput("approval", day, decision="yes", approver=tree["a"], party_group_consulted=True), None,
             "不能列入党员名册")


def test_a_no_ends_the_process(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "talk", people["sponsors"], people["approver"])
    services.record_step(None, a, StepInput("recommend", dt.date(2023, 3, 1), decision="no"), today=TODAY)
    a.refresh_from_db()
    assert a.status == "stopped"
    _refused(a, StepInput("activist_file", dt.date(2023, 3, 2)), None, "已终止")


# ---- figures, scoping, pages ---------------------------------------------------------------------

@pytest.fixture
def pipeline(tree, people):
    """Applicants of both departments at every stage, some admitted this year."""
    out = []
    plan = [("a1", "talk"), ("a1", "contacts"), ("a1", "activist_review"), ("a1", "training"), ("a1", "approval"),
            ("a1", "archive"), ("b1", "talk"), ("b1", "candidate"), ("b1", "approval_file")]
    sponsors_b = [factories.member(tree["b1"], name="介绍丁"), factories.member(tree["b1"], name="介绍戊")]
    for i, (org, until) in enumerate(plan):
        applied = dt.date(2022 + i % 3, 1 + i, 5)
        a = factories.applicant(tree[org], name=f"申请{i}", applied_on=applied)
        sponsors = people["sponsors"] if org == "a1" else sponsors_b
        out.append(factories.develop(a, until, sponsors, tree[org[0]]))
    return out


def _reference(applicants, year):
    """Counted another way: from each applicant's recorded steps, not from the stored stage."""
    out = {"applicants": 0, "activists": 0, "candidates": 0, "new_members": 0}
    for a in applicants:
        codes = list(a.steps.values_list("code", flat=True))
        if a.status != "active":
            pass
        elif "approval" in codes:
            pass
        elif "candidate" in codes:
            out["candidates"] += 1
        elif "recommend" in codes:
            out["activists"] += 1
        else:
            out["applicants"] += 1
        approval = a.steps.filter(code="approval").first()
        if approval and approval.done_on.year == year:
            out["new_members"] += 1
    return out


@pytest.mark.parametrize("who, subtree", [("wc_admin", None), ("unit_admin_a", "a"), ("unit_admin_b", "b")])
def test_figures_match_a_reference_count(tree, personas, pipeline, who, subtree):
    for year in (2023, 2024, 2025):
        mine = [a for a in pipeline if subtree is None or a.org.path.startswith(tree[subtree].path)]
        assert queries.figures(personas[who], root=None, year=year) == _reference(mine, year)


def test_scoping_of_pages_api_and_the_applicants_own_view(tree, personas, pipeline):
    a = pipeline[0]
    other = factories.login(personas["unit_admin_b"])
    assert other.get(f"/development/{a.pk}/").status_code == 404
    assert other.get(f"/development/{a.pk}/progress/").status_code == 404
    assert other.post(f"/development/{a.pk}/record/", {"code": "recommend"}).status_code == 404
    assert a.name not in other.get("/development/").content.decode()
    assert other.get(f"/api/applicants/{a.pk}/").status_code == 404
    names = {r["name"] for r in other.get("/api/applicants/?page_size=500").json()["results"]}
    assert names == {x.name for x in pipeline if x.org_id == tree["b1"].pk}
    own = factories.login(personas["secretary_a1"])
    assert own.get(f"/development/{a.pk}/").status_code == 200
    account = factories.user(username="applicant0")
    services.link_account(None, a, account)
    me = factories.login(account)
    page = me.get("/development/mine/")
    assert page.status_code == 200 and "我的入党进程" in page.content.decode()
    assert me.get(f"/development/{pipeline[1].pk}/").status_code == 404
    assert factories.login(personas["member_a"]).get("/development/mine/").status_code == 404


def test_board_query_count_is_constant_as_applicants_grow(tree, personas, people):
    client = factories.login(personas["wc_admin"])
    for i in range(3):
        factories.develop(factories.applicant(tree["a1"], name=f"甲{i}"), "contacts", people["sponsors"], tree["a"])
    client.get("/development/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/development/").status_code == 200
    for i in range(12):
        factories.develop(factories.applicant(tree["a1"], name=f"乙{i}", applied_on=dt.date(2023, 2, 1 + i)),
                          "training", people["sponsors"], tree["a"])
    with CaptureQueriesContext(connection) as many:
        assert client.get("/development/?q=乙").status_code == 200
        assert client.get("/development/").status_code == 200
    assert len(many) == 2 * len(few), [q["sql"] for q in many.captured_queries]


def test_board_shows_stages_figures_next_steps_and_violations(tree, personas, people):
    late = factories.applicant(tree["a1"], name="迟谈话", applied_on=dt.date(2023, 1, 10))
    factories.develop(late, "talk", people["sponsors"], tree["a"], talk={"done_on": dt.date(2023, 3, 1)})
    page = factories.login(personas["secretary_a1"]).get("/development/").content.decode()
    assert "迟谈话" in page and 'data-rule="talk_within"' in page and "推荐和确定入党积极分子" in page
    assert 'data-stage="application" data-count="1"' in page


def test_export_is_neutral_and_audited(tree, personas, pipeline):
    client = factories.login(personas["wc_admin"])
    response = client.get("/development/export.xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(__import__("io").BytesIO(b"".join(response.streaming_content)
                                                         if response.streaming else response.content))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    names = {r[2] for r in rows}
    assert {a.name for a in pipeline if a.status == "active"} <= names
    assert AuditEntry.objects.filter(action="export", note__contains="发展党员").exists()


def test_a_secretary_records_the_next_step_and_a_bad_one_answers_in_chinese(tree, personas, people):
    a = factories.applicant(tree["a1"], applied_on=dt.date(2025, 1, 10), today=None)
    client = factories.login(personas["secretary_a1"])
    page = client.get(f"/development/{a.pk}/").content.decode()
    assert "党组织派人谈话" in page
    before = DevelopmentStep.objects.count()
    bad = client.post(f"/development/{a.pk}/record/", {"code": "talk", "done_on": "2025-01-09",
                                                      "talker": people["sponsors"][0].pk, "version": a.version})
    assert bad.status_code == 400 and "早于上一步骤" in bad.content.decode()
    assert DevelopmentStep.objects.count() == before
    ok = client.post(f"/development/{a.pk}/record/", {"code": "talk", "done_on": "2025-01-20",
                                                     "talker": people["sponsors"][0].pk, "version": a.version})
    assert ok.status_code == 302
    assert list(a.steps.values_list("code", flat=True)) == ["apply", "talk"]
    junk = client.post(f"/development/{a.pk}/record/", {"code": "<script>", "done_on": "x"})
    assert junk.status_code == 302


# ---- the command ---------------------------------------------------------------------------------

def test_development_check_contract(tree, people):
    late = factories.applicant(tree["a1"], name="迟谈话", applied_on=dt.date(2023, 1, 10))
    factories.develop(late, "talk", people["sponsors"], tree["a"], talk={"done_on": dt.date(2023, 3, 1)})
    factories.applicant(tree["b1"], name="未谈话", applied_on=dt.date(2025, 1, 10), today=dt.date(2025, 1, 10))
    code, out = factories.cli_json("development-check", "--today", "2025-03-01")
    assert code == 0 and list(out) == ["violations"]
    assert all(list(v) == ["person", "org_code", "step", "rule", "message"] for v in out["violations"])
    found = {(v["person"], v["org_code"], v["step"], v["rule"]) for v in out["violations"]}
    assert found == {("迟谈话", "CZ01", "talk", "talk_within"), ("未谈话", "JY01", "talk", "talk_within")}
    code, out = factories.cli_json("development-check", "--org", "JY", "--today", "2025-02-10")
    assert out == {"violations": []}
    code, out = factories.cli_json("development-check", "--org", "CZ", "--today", "2025-03-01")
    assert [v["person"] for v in out["violations"]] == ["迟谈话"] and "谈话日期" in out["violations"][0]["message"]
    with pytest.raises(CommandError) as exc:
        factories.cli("development-check", "--org", "NOPE")
    assert exc.value.returncode == 2 and "NOPE" in str(exc.value)


def test_violations_read_a_fixed_number_of_queries(tree, people):
    for i in range(4):
        factories.develop(factories.applicant(tree["a1"], name=f"丙{i}"), "approval", people["sponsors"], tree["a"])
    with CaptureQueriesContext(connection) as ctx:
        checks.violations(Applicant.objects.all(), TODAY)
    assert len(ctx) == 3


# ---- the browser on a phone ----------------------------------------------------------------------

@pytest.mark.browser
def test_a_secretary_records_a_development_step_on_a_phone(transactional_db, live_server, personas, tree,
                                                          browser_page):
    sponsor = factories.member(tree["a1"], name="周联系")
    a = factories.applicant(tree["a1"], name="吴申请", applied_on=dt.date.today() - dt.timedelta(days=5),
                            today=None)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, live_server.url, "seca1")
    page.goto(f"{live_server.url}/development/{a.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.fill("#step-done_on", dt.date.today().isoformat())
    page.select_option("#step-talker", str(sponsor.pk))
    page.check("#step-document_received")
    page.click("form.dev-step-form button[type=submit]")
    page.wait_for_selector("text=已记录“党组织派人谈话”")
    assert list(a.steps.values_list("code", flat=True)) == ["apply", "talk"]
    assert a.steps.get(code="talk").document_received
    page.goto(f"{live_server.url}/development/{a.pk}/progress/")
    assert "吴申请的入党进程" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.goto(f"{live_server.url}/development/")
    assert page.is_visible("text=吴申请")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_json_of_the_api_names_steps(tree, personas, people):
    a = factories.develop(factories.applicant(tree["a1"]), "contacts", people["sponsors"], tree["a"])
    data = factories.login(personas["wc_admin"]).get(f"/api/applicants/{a.pk}/").json()
    assert data["stage"] == "activist" and [s["code"] for s in data["steps"]][:2] == ["apply", "talk"]
    assert data["steps"][-1]["first_sponsor"] == "介绍甲"
    assert json.dumps(data, ensure_ascii=False).count("11010") == 0  # no 身份证号 in full
