"""The development API's writes (/api/applicants/: register, record the next step, correct or
withdraw the latest one) per role: the page's scope and permissions, the services' checks with
their Chinese messages as 400 that write nothing, 409 on a stale version, a valid schema."""
import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.core import idcard
from dangjian.core.models import AuditEntry
from dangjian.development import services
from dangjian.development.checks import StepInput
from dangjian.development.models import Applicant, DevelopmentStep, StepCorrection
from dangjian.members.models import Member
from tests import factories

CJK = re.compile(r"[\u4e00-\u9fff]")


def token_client(username: str) -> APIClient:
    out = io.StringIO()
    call_command("token", username, stdout=out, stderr=io.StringIO())
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return c


def _written():
    return (Applicant.objects.count(), DevelopmentStep.objects.count(), StepCorrection.objects.count(),
            Member.objects.count(), AuditEntry.objects.exclude(action__in=["login", "token"]).count())


@pytest.fixture
def people(tree):
    a1 = tree["a1"]
    return {"sponsors": [factories.member(a1, name="介绍甲"), factories.member(a1, name="介绍乙")],
            "probationary": factories.member(a1, name="预备丙", category="probationary", confirmed_on=None)}


def _body(**over):
    today = timezone.localdate()
    body = {"org": "CZ01", "name": "周申请", "id_number": idcard.make("110102", dt.date(2001, 5, 4), 123),
            "education": "大学本科", "workplace": "市财政局", "applied_on": (today - dt.timedelta(days=40)).isoformat(),
            "phone": "13900001111", "document_received": True}
    body.update(over)
    return body


def _refused(response, field, words):
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body["errors"], body
    assert words in body["errors"][field][0], body
    assert CJK.search(body["detail"])


# ---- POST /api/applicants/ -------------------------------------------------------------------------

def test_a_secretary_registers_an_applicant_as_the_page_does(tree, personas):
    r = token_client("seca1").post("/api/applicants/", _body(), format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert (data["name"], data["org_code"], data["stage"], data["gender"]) == ("周申请", "CZ01", "application", "male")
    assert [s["code"] for s in data["steps"]] == ["apply"] and data["steps"][0]["has_document"]
    assert data["id_mask"].count("*") >= 8 and "id_number" not in data
    a = Applicant.objects.get(pk=data["id"])
    assert a.birth_date == dt.date(2001, 5, 4) and a.education == "bachelor"
    assert AuditEntry.objects.filter(table="development.applicant", object_id=a.pk, action="create").exists()


@pytest.mark.parametrize("who, status", [("wcadmin", 201), ("unita", 201), ("seca1", 201), ("unitb", 400),
                                         ("leader", 403), ("mema", 403)])
def test_who_may_register_in_a_branch(tree, personas, who, status):
    before = _written()
    r = token_client(who).post("/api/applicants/", _body(), format="json")
    assert r.status_code == status, r.json()
    if status != 201:
        assert CJK.search(r.json()["detail"]) and _written() == before
    if status == 400:  # a branch outside the user's scope is not named
        assert "不在您的管理范围内" in r.json()["errors"]["org"][0]


@pytest.mark.parametrize("over, field, words", [
    ({"id_number": "110102200105041230"}, "id_number", "身份证号"),
    ({"applied_on": "2019-05-03", "id_number": idcard.make("110102", dt.date(2001, 5, 4), 7)}, "applied_on",
     "未满 18 周岁"),
    ({"org": "CZ"}, "org", "入党申请由党支部（或党总支）受理和培养"),
    ({"gender": "female"}, "gender", "与身份证号不符"),
    ({"education": "博士后"}, "education", "学历"),
    ({"phone": "abc"}, "phone", "不是有效的号码"),
    ({"name": ""}, "name", "姓名"),
    ({"applied_on": "2026-02-30"}, "applied_on", "不是有效的日期"),
])
def test_a_bad_applicant_answers_400_in_chinese_and_writes_nothing(tree, personas, over, field, words):
    before = _written()
    _refused(token_client("unita").post("/api/applicants/", _body(**over), format="json"), field, words)
    assert _written() == before


def test_the_same_person_twice_or_already_on_the_roster_is_refused(tree, personas):
    c = token_client("seca1")
    assert c.post("/api/applicants/", _body(), format="json").status_code == 201
    _refused(c.post("/api/applicants/", _body(name="周二"), format="json"), "id_number", "该申请人已登记")
    _refused(c.post("/api/applicants/", _body(id_number=tree["ma"].id_number), format="json"), "id_number",
             "已在党员名册中")


# ---- POST /api/applicants/{id}/steps/ -------------------------------------------------------------

@pytest.fixture
def fresh(tree):
    today = timezone.localdate()
    return factories.applicant(tree["a1"], applied_on=today - dt.timedelta(days=20), today=today)


def _talk(people, days_ago=10, **over):
    body = {"code": "talk", "done_on": (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat(),
            "talker": people["sponsors"][0].pk, "document_received": True}
    body.update(over)
    return body


@pytest.mark.parametrize("who, status", [("seca1", 201), ("unita", 201), ("wcadmin", 201), ("leader", 403),
                                         ("unitb", 404), ("mema", 404)])
def test_who_may_record_a_step(tree, personas, people, fresh, who, status):
    before = _written()
    r = token_client(who).post(f"/api/applicants/{fresh.pk}/steps/", _talk(people), format="json")
    assert r.status_code == status, r.json()
    if status == 201:
        assert [s["code"] for s in r.json()["steps"]] == ["apply", "talk"]
        assert r.json()["steps"][1]["talker"] == "介绍甲" and r.json()["version"] > fresh.version
    else:
        assert CJK.search(r.json()["detail"]) and _written() == before


@pytest.mark.parametrize("over, field, words", [
    ({"code": "recommend", "decision": "yes", "talker": None}, "code", "下一步应为“党组织派人谈话”"),
    ({"done_on": "2000-01-01"}, "done_on", "早于上一步骤“递交入党申请书”的日期"),
    ({"talker": None}, "talker", "谈话人：必选"),
    ({"vote_expected": 9}, "vote_expected", "“党组织派人谈话”不记录此项"),
    ({"decision": "yes"}, "decision", "不作决定"),
    ({"code": "nope"}, "code", "步骤"),
    ({"note": "a\x00b"}, "note", "说明"),
])
def test_a_refused_step_answers_the_pages_message_and_writes_nothing(tree, personas, people, fresh, over, field,
                                                                      words):
    before = _written()
    r = token_client("seca1").post(f"/api/applicants/{fresh.pk}/steps/", _talk(people, **over), format="json")
    _refused(r, field, words)
    assert _written() == before and Applicant.objects.get(pk=fresh.pk).version == fresh.version


def test_a_future_date_and_a_person_of_another_unit_are_refused(tree, personas, people, fresh):
    c = token_client("seca1")
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    _refused(c.post(f"/api/applicants/{fresh.pk}/steps/", _talk(people, done_on=tomorrow), format="json"),
             "done_on", "晚于今天")
    _refused(c.post(f"/api/applicants/{fresh.pk}/steps/", _talk(people, talker=tree["mb"].pk), format="json"),
             "talker", "不是本单位在册党员")


def test_a_stale_version_is_409_and_the_approver_must_be_above_the_branch(tree, personas, people):
    a = factories.develop(factories.applicant(tree["a1"]), "committee_talk", people["sponsors"], tree["a"])
    c = token_client("unita")
    day = a.steps.order_by("-done_on").first().done_on + dt.timedelta(days=5)
    body = {"code": "approval", "done_on": day.isoformat(), "decision": "yes", "approver": "JY",
            "party_group_consulted": True}
    _refused(c.post(f"/api/applicants/{a.pk}/steps/", body, format="json"), "approver", "不是培养党支部的上级党委")
    stale = c.post(f"/api/applicants/{a.pk}/steps/", {**body, "approver": "CZ", "version": a.version + 5},
                   format="json")
    assert stale.status_code == 409 and stale.json()["version"] == a.version
    r = c.post(f"/api/applicants/{a.pk}/steps/", {**body, "approver": "CZ"}, format="json", HTTP_IF_MATCH=str(a.version))
    assert r.status_code == 201, r.json()
    assert r.json()["stage"] == "probationary" and r.json()["member_id"]
    assert Member.objects.get(pk=r.json()["member_id"]).category == "probationary"


def test_a_vote_without_majority_is_refused_like_the_page(tree, personas, people):
    a = factories.develop(factories.applicant(tree["a1"]), "volunteer_form", people["sponsors"], tree["a"])
    day = a.steps.order_by("-done_on").first().done_on + dt.timedelta(days=3)
    body = {"code": "branch_meeting", "done_on": day.isoformat(), "decision": "yes", "vote_expected": 10,
            "vote_present": 6, "vote_for": 5}
    _refused(token_client("seca1").post(f"/api/applicants/{a.pk}/steps/", body, format="json"), "vote_for",
             "未超过应到会有表决权党员 10 人的半数")


# ---- corrections through the API --------------------------------------------------------------------

def test_the_latest_step_is_corrected_or_withdrawn_with_a_reason(tree, personas, people, fresh):
    c = token_client("seca1")
    r = c.post(f"/api/applicants/{fresh.pk}/steps/", _talk(people), format="json")
    talk = r.json()["steps"][1]
    apply = r.json()["steps"][0]
    url = f"/api/applicants/{fresh.pk}/steps/{talk['id']}/"
    fixed = _talk(people, days_ago=12, talker=people["sponsors"][1].pk)
    _refused(c.post(url + "correct/", fixed, format="json"), "reason", "更正原因")
    _refused(c.post(url + "correct/", {**fixed, "reason": "日期录错", "done_on": "2000-01-01"}, format="json"),
             "done_on", "早于上一步骤")
    assert token_client("leader").post(url + "correct/", {**fixed, "reason": "x"}, format="json").status_code == 403
    assert token_client("unitb").post(url + "correct/", {**fixed, "reason": "x"}, format="json").status_code == 404
    r = c.post(url + "correct/", {**fixed, "reason": "日期和谈话人录错"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["steps"][1]["talker"] == "介绍乙"
    [corr] = r.json()["corrections"]
    assert corr["kind"] == "correct" and corr["reason"] == "日期和谈话人录错" and corr["by"]
    assert ["谈话人", "介绍甲", "介绍乙"] in corr["changes"]
    r = c.post(f"/api/applicants/{fresh.pk}/steps/{apply['id']}/withdraw/", {"reason": "误记"}, format="json")
    _refused(r, "non_field_errors", "只能撤回最后记录的步骤“党组织派人谈话”")
    r = c.post(url + "withdraw/", {"reason": "误记"}, format="json")
    assert r.status_code == 200 and [s["code"] for s in r.json()["steps"]] == ["apply"]
    assert [x["kind"] for x in r.json()["corrections"]] == ["correct", "withdraw"]
    gone = c.post(url + "withdraw/", {"reason": "再撤"}, format="json")
    assert gone.status_code == 404 and "已被撤回" in gone.json()["detail"]
    another = factories.applicant(tree["a1"], name="别人")
    r = c.post(f"/api/applicants/{another.pk}/steps/{apply['id']}/correct/", {**fixed, "reason": "x"}, format="json")
    assert r.status_code == 404


def test_the_list_reads_a_fixed_number_of_queries(tree, personas, people):
    c = token_client("wcadmin")
    factories.develop(factories.applicant(tree["a1"], name="甲"), "contacts", people["sponsors"], tree["a"])
    c.get("/api/applicants/")
    with CaptureQueriesContext(connection) as few:
        assert c.get("/api/applicants/").status_code == 200
    for i in range(6):
        a = factories.develop(factories.applicant(tree["a1"], name=f"乙{i}"), "talk", people["sponsors"], tree["a"])
        step = a.steps.get(code="talk")
        services.correct_step(None, a, step.pk, StepInput("talk", step.done_on, talker=people["sponsors"][1]),
                              reason="谈话人录错", today=dt.date(2030, 1, 1))
    with CaptureQueriesContext(connection) as many:
        r = c.get("/api/applicants/")
    assert r.json()["count"] == 7 and sum(len(x["corrections"]) for x in r.json()["results"]) == 6
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_schema_stays_valid():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null", stdout=out, stderr=out)
