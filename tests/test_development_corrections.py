"""Correcting the latest recorded step of an applicant (a mistyped date, vote or person) or
withdrawing it: the rules of recording run again, nothing is written on a refusal, the old
values stay in the correction history with who, when and why, the stage follows, and a step
that wrote to the roster keeps its date and decision."""
import datetime as dt

import pytest

from dangjian.core.models import AuditEntry
from dangjian.core.versioning import StaleVersion
from dangjian.development import services
from dangjian.development.checks import DevelopmentError, StepInput
from dangjian.development.models import Applicant, DevelopmentStep, StepCorrection
from dangjian.members.models import Member
from tests import factories

TODAY = dt.date(2030, 1, 1)


@pytest.fixture
def people(tree):
    a1 = tree["a1"]
    return {"sponsors": [factories.member(a1, name="介绍甲"), factories.member(a1, name="介绍乙")]}


def _written():
    return (DevelopmentStep.objects.count(), StepCorrection.objects.count(), Member.objects.count(),
            AuditEntry.objects.count(), list(Applicant.objects.values_list("version", "stage", "status")),
            list(DevelopmentStep.objects.values_list("done_on", "talker_id", "decision", "vote_for")))


def _last(a):
    return Applicant.objects.get(pk=a.pk).steps.order_by("-done_on", "-id").first()


def _refused(call, field, words):
    before = _written()
    with pytest.raises(DevelopmentError) as exc:
        call()
    assert exc.value.field == field, exc.value.message
    assert words in exc.value.message, exc.value.message
    assert _written() == before


def _talked(tree, people):
    a = factories.applicant(tree["a1"], applied_on=dt.date(2023, 1, 10))
    return factories.develop(a, "talk", people["sponsors"], tree["a"])


def test_a_mistyped_date_and_person_are_corrected_with_the_old_values_kept(tree, people, personas):
    a = _talked(tree, people)
    talk = _last(a)
    fixed = StepInput("talk", dt.date(2023, 1, 25), talker=people["sponsors"][1], document_received=True)
    services.correct_step(personas["secretary_a1"], a, talk.pk, fixed, reason="日期和谈话人录错", today=TODAY)
    talk.refresh_from_db()
    assert (talk.done_on, talk.talker_id, talk.document_received) == (dt.date(2023, 1, 25),
                                                                      people["sponsors"][1].pk, True)
    [c] = StepCorrection.objects.filter(applicant=a)
    assert (c.kind, c.code, c.step_ref, c.reason, c.by) == ("correct", "talk", talk.pk, "日期和谈话人录错",
                                                           personas["secretary_a1"])
    assert ["日期", "2023-01-20", "2023-01-25"] in c.changes and ["谈话人", "介绍甲", "介绍乙"] in c.changes
    assert ["材料已收到", "否", "是"] in c.changes
    assert AuditEntry.objects.filter(table="development.developmentstep", object_id=talk.pk, action="update",
                                     note__contains="日期和谈话人录错").exists()


def test_a_correction_runs_every_rule_of_recording_again(tree, people):
    a = _talked(tree, people)
    talk = _last(a)
    sponsor = people["sponsors"][0]
    _refused(lambda: services.correct_step(None, a, talk.pk, StepInput("talk", dt.date(2023, 1, 9), talker=sponsor),
                                           reason="改日期", today=TODAY), "done_on", "早于上一步骤“递交入党申请书”")
    _refused(lambda: services.correct_step(None, a, talk.pk, StepInput("talk", dt.date(2030, 1, 2), talker=sponsor),
                                           reason="改日期", today=TODAY), "done_on", "晚于今天")
    _refused(lambda: services.correct_step(None, a, talk.pk, StepInput("talk", dt.date(2023, 1, 20)),
                                           reason="改人", today=TODAY), "talker", "谈话人：必选")
    _refused(lambda: services.correct_step(None, a, talk.pk, StepInput("talk", dt.date(2023, 1, 20), talker=sponsor),
                                           reason="", today=TODAY), "reason", "更正原因：必填")
    _refused(lambda: services.correct_step(None, a, talk.pk, StepInput("talk", dt.date(2023, 1, 20), talker=sponsor),
                                           reason="无改动", today=TODAY), None, "没有修改任何内容")
    apply = a.steps.get(code="apply")
    _refused(lambda: services.correct_step(None, a, apply.pk, StepInput("apply", dt.date(2023, 1, 5)),
                                           reason="改日期", today=TODAY), None, "只能更正最后记录的步骤“党组织派人谈话”")


def test_a_vote_corrected_below_the_majority_is_refused(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "branch_meeting", people["sponsors"], tree["a"])
    meeting = _last(a)
    wrong = StepInput("branch_meeting", meeting.done_on, decision="yes", vote_expected=9, vote_present=8, vote_for=4)
    _refused(lambda: services.correct_step(None, a, meeting.pk, wrong, reason="票数录错", today=TODAY), "vote_for",
             "未超过应到会有表决权党员 9 人的半数")
    right = StepInput("branch_meeting", meeting.done_on, decision="yes", vote_expected=9, vote_present=9, vote_for=9)
    services.correct_step(None, a, meeting.pk, right, reason="实到人数录错", today=TODAY)
    assert _last(a).vote_present == 9


def test_the_application_date_corrected_moves_the_applicant_and_keeps_the_age_rule(tree):
    a = factories.applicant(tree["a1"], birth=dt.date(2005, 1, 10), applied_on=dt.date(2023, 1, 20))
    apply = _last(a)
    _refused(lambda: services.correct_step(None, a, apply.pk, StepInput("apply", dt.date(2023, 1, 9)),
                                           reason="日期录错", today=TODAY), "done_on", "未满 18 周岁")
    services.correct_step(None, a, apply.pk, StepInput("apply", dt.date(2023, 1, 10)), reason="日期录错", today=TODAY)
    a.refresh_from_db()
    assert (a.applied_on, a.stage_since) == (dt.date(2023, 1, 10), dt.date(2023, 1, 10))
    _refused(lambda: services.withdraw_step(None, a, apply.pk, reason="误记"), None, "是第一步，不能撤回")


def test_withdrawing_returns_the_applicant_to_the_stage_before(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "recommend", people["sponsors"], tree["a"])
    assert a.stage == "activist"
    recommend = _last(a)
    services.withdraw_step(None, a, recommend.pk, reason="支委会尚未开会，误记录")
    a.refresh_from_db()
    assert (a.stage, a.stage_since, a.status) == ("application", a.applied_on, "active")
    assert list(a.steps.values_list("code", flat=True)) == ["apply", "talk"]
    [c] = StepCorrection.objects.filter(applicant=a)
    assert c.kind == "withdraw" and ["决定", "同意", ""] in c.changes
    assert AuditEntry.objects.filter(table="development.developmentstep", object_id=recommend.pk,
                                     action="delete").exists()


def test_a_no_corrected_to_yes_reopens_the_process(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "talk", people["sponsors"], tree["a"])
    services.record_step(None, a, StepInput("recommend", dt.date(2023, 3, 10), decision="no"), today=TODAY)
    a.refresh_from_db()
    assert a.status == "stopped"
    services.correct_step(None, a, _last(a).pk, StepInput("recommend", dt.date(2023, 3, 10), decision="yes"),
                          reason="决定录错", today=TODAY)
    a.refresh_from_db()
    assert (a.status, a.stage, a.stage_since) == ("active", "activist", dt.date(2023, 3, 10))


def test_a_process_stopped_by_hand_is_not_corrected(tree, people):
    a = _talked(tree, people)
    services.stop(None, a, reason="本人撤回申请")
    talk = _last(a)
    _refused(lambda: services.correct_step(None, a, talk.pk, StepInput("talk", dt.date(2023, 1, 25),
                                                                        talker=people["sponsors"][0]),
                                           reason="改日期", today=TODAY), None, "已由党支部终止")
    _refused(lambda: services.withdraw_step(None, a, talk.pk, reason="误记"), None, "已由党支部终止")


def test_an_admission_keeps_its_date_and_decision_but_its_other_fields_may_be_corrected(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "approval", people["sponsors"], tree["a"])
    approval = _last(a)
    moved = StepInput("approval", approval.done_on + dt.timedelta(days=1), decision="yes", approver=tree["a"],
                      party_group_consulted=True)
    _refused(lambda: services.correct_step(None, a, approval.pk, moved, reason="日期录错", today=TODAY), None,
             "已据此为赵小明列入党员名册")
    _refused(lambda: services.withdraw_step(None, a, approval.pk, reason="误记"), None, "不能在此更正或撤回")
    services.correct_step(None, a, approval.pk, StepInput("approval", approval.done_on, decision="yes",
                                                          approver=tree["a"], party_group_consulted=True,
                                                          note="审批意见编号 2024-12"), reason="补充说明", today=TODAY)
    assert Member.objects.filter(pk=a.member_id).count() == 1 and _last(a).note == "审批意见编号 2024-12"


def test_an_approval_corrected_from_no_to_yes_enters_the_roster(tree, people):
    a = factories.develop(factories.applicant(tree["a1"], name="钱更正"), "committee_talk", people["sponsors"],
                          tree["a"])
    day = _last(a).done_on + dt.timedelta(days=20)
    services.record_step(None, a, StepInput("approval", day, decision="no", approver=tree["a"],
                                            party_group_consulted=True), today=TODAY)
    a.refresh_from_db()
    assert a.status == "stopped" and a.member_id is None
    services.correct_step(None, a, _last(a).pk, StepInput("approval", day, decision="yes", approver=tree["a"],
                                                          party_group_consulted=True), reason="审批意见录错",
                          today=TODAY)
    a.refresh_from_db()
    assert (a.status, a.stage) == ("active", "probationary")
    assert (a.member.name, a.member.category, a.member.joined_on) == ("钱更正", "probationary", day)


def test_a_stale_version_refuses_the_correction(tree, people):
    a = _talked(tree, people)
    talk = _last(a)
    with pytest.raises(StaleVersion):
        services.correct_step(None, a, talk.pk, StepInput("talk", dt.date(2023, 1, 25), talker=people["sponsors"][0]),
                              reason="改日期", version=a.version - 1, today=TODAY)
    assert _last(a).done_on == talk.done_on


# ---- the pages ---------------------------------------------------------------------------------------

def test_a_secretary_corrects_and_withdraws_from_the_applicant_page(tree, people, personas):
    a = factories.develop(factories.applicant(tree["a1"], name="孙页面"), "recommend", people["sponsors"], tree["a"])
    recommend = _last(a)
    client = factories.login(personas["secretary_a1"])
    url = f"/development/{a.pk}/steps/{recommend.pk}/correct/"
    page = client.get(f"/development/{a.pk}/").content.decode()
    assert url in page and "更正或撤回" in page
    form = client.get(url)
    assert form.status_code == 200 and recommend.done_on.isoformat() in form.content.decode()
    version = Applicant.objects.get(pk=a.pk).version
    bad = client.post(url, {"done_on": "2000-01-01", "decision": "yes", "reason": "日期录错", "version": version})
    assert bad.status_code == 400 and "早于上一步骤" in bad.content.decode()
    assert StepCorrection.objects.count() == 0
    day = recommend.done_on + dt.timedelta(days=2)
    ok = client.post(url, {"done_on": day.isoformat(), "decision": "yes", "reason": "日期录错", "version": version})
    assert ok.status_code == 302 and _last(a).done_on == day
    page = client.get(f"/development/{a.pk}/").content.decode()
    assert "步骤更正记录" in page and "日期录错" in page and recommend.done_on.isoformat() in page
    version = Applicant.objects.get(pk=a.pk).version
    r = client.post(f"/development/{a.pk}/steps/{recommend.pk}/withdraw/", {"reason": "误记录", "version": version})
    assert r.status_code == 302
    assert Applicant.objects.get(pk=a.pk).stage == "application"
    talk = _last(a)
    assert client.get(url).status_code == 404
    earlier = a.steps.get(code="apply")
    r = client.get(f"/development/{a.pk}/steps/{earlier.pk}/correct/")
    assert r.status_code == 302 and talk.code == "talk"


@pytest.mark.parametrize("who", ["unit_admin_b", "leader", "member_a"])
def test_others_cannot_reach_the_correction(tree, people, personas, who):
    a = _talked(tree, people)
    talk = _last(a)
    client = factories.login(personas[who])
    assert client.get(f"/development/{a.pk}/steps/{talk.pk}/correct/").status_code == 404
    assert client.post(f"/development/{a.pk}/steps/{talk.pk}/withdraw/", {"reason": "x"}).status_code == 404
    if who == "leader":
        assert "更正或撤回" not in client.get(f"/development/{a.pk}/").content.decode()
    assert _last(a).pk == talk.pk


def test_an_approved_extension_wrote_nothing_to_the_roster_and_may_be_corrected(tree, people):
    a = factories.develop(factories.applicant(tree["a1"]), "confirm_request", people["sponsors"], tree["a"])
    meeting = next(d for c, d, _ in factories.development_plan(a.applied_on) if c == "confirm_meeting")
    vote = {"vote_expected": 9, "vote_present": 8, "vote_for": 8}
    services.record_step(None, a, StepInput("confirm_meeting", meeting, decision="extend", extension_months=6, **vote),
                         today=TODAY)
    day = meeting + dt.timedelta(days=20)
    services.record_step(None, a, StepInput("confirm_approval", day, decision="yes", approver=tree["a"],
                                            party_group_consulted=True), today=TODAY)
    approval = _last(a)
    services.correct_step(None, a, approval.pk, StepInput("confirm_approval", day + dt.timedelta(days=2), decision="yes",
                                                          approver=tree["a"], party_group_consulted=True),
                          reason="日期录错", today=TODAY)
    a.refresh_from_db()
    assert _last(a).done_on == day + dt.timedelta(days=2) and a.member.category == "probationary"
    services.withdraw_step(None, a, approval.pk, reason="审批尚未下达")
    assert _last(a).code == "confirm_meeting"


@pytest.mark.browser
def test_a_secretary_corrects_a_step_on_a_phone(transactional_db, live_server, personas, tree, browser_page):
    sponsor = factories.member(tree["a1"], name="周联系")
    other = factories.member(tree["a1"], name="吴联系")
    today = dt.date.today()
    a = factories.applicant(tree["a1"], name="郑更正", applied_on=today - dt.timedelta(days=20), today=None)
    services.record_step(personas["secretary_a1"], a, StepInput("talk", today - dt.timedelta(days=5), talker=sponsor))
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, live_server.url, "seca1")
    page.goto(f"{live_server.url}/development/{a.pk}/")
    page.click("text=更正或撤回")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.fill("#fix-done_on", (today - dt.timedelta(days=4)).isoformat())
    page.select_option("#fix-talker", str(other.pk))
    page.fill("#fix-reason", "谈话人选错")
    page.click("form.dev-step-form button[type=submit]")
    page.wait_for_selector("text=已更正“党组织派人谈话”")
    assert page.is_visible("text=步骤更正记录")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    step = a.steps.get(code="talk")
    assert (step.done_on, step.talker_id) == (today - dt.timedelta(days=4), other.pk)
