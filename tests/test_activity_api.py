"""/api/activities/ and /api/compliance/: scoped reads (404 outside scope), records written
through the services with Chinese errors naming the field, compliance rows in the shape of
`dangjian compliance --format json`."""
import datetime as dt
import io
import json
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.activities import services as acts
from dangjian.activities.models import Activity, Attendance
from tests import factories

TODAY = timezone.localdate()
DAY = TODAY - dt.timedelta(days=20)
ENGLISH = re.compile(r"\b(?:This|field|valid|Ensure|may not|required|allowed|provided|Invalid|expected)\b")


def client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def records(tree, personas):
    extra = factories.member(tree["a1"], name="赵强")
    a = acts.record_activity(None, tree["a1"], ["theme_day", "general_meeting"], DAY, topic="学习党章",
                             attendance={tree["ma"].pk: "present", extra.pk: ("excused", "出差")})
    b = acts.record_activity(None, tree["b1"], ["party_lecture"], DAY - dt.timedelta(days=40), topic="专题党课",
                             attendance={tree["mb"].pk: "present"})
    return {"a": a, "b": b, "extra": extra}


def test_list_is_scoped_and_filtered(tree, personas, records):
    body = client(personas["wc_admin"]).get("/api/activities/").json()
    assert [r["id"] for r in body["results"]] == [records["a"].pk, records["b"].pk]
    first = body["results"][0]
    assert first["org"] == "CZ01" and first["kinds"] == ["general_meeting", "theme_day"]
    assert first["kind_labels"] == ["支部党员大会", "主题党日"]
    assert {(x["member_name"], x["status"], x["reason"]) for x in first["attendance"]} == {
        ("李明", "present", ""), ("赵强", "excused", "出差")}

    unitb = client(personas["unit_admin_b"])
    body = unitb.get("/api/activities/").json()
    assert [r["id"] for r in body["results"]] == [records["b"].pk]
    # Asking for the other subtree's org shows nothing of it.
    assert unitb.get("/api/activities/?org=CZ").json()["results"] == []

    wc = client(personas["wc_admin"])
    assert [r["id"] for r in wc.get("/api/activities/?org=JY").json()["results"]] == [records["b"].pk]
    assert [r["id"] for r in wc.get("/api/activities/?kind=主题党日").json()["results"]] == [records["a"].pk]
    assert [r["id"] for r in wc.get("/api/activities/?kind=party_lecture").json()["results"]] == [records["b"].pk]
    span = f"?start={DAY - dt.timedelta(days=41):%Y-%m-%d}&end={DAY - dt.timedelta(days=1):%Y-%m-%d}"
    assert [r["id"] for r in wc.get("/api/activities/" + span).json()["results"]] == [records["b"].pk]
    bad = wc.get("/api/activities/?start=2025-13-01&kind=喝茶")
    assert bad.status_code == 400
    assert "开始日期" in " ".join(bad.json()["errors"]["start"]) and "类型" in " ".join(bad.json()["errors"]["kind"])
    assert not ENGLISH.search(bad.content.decode())

    # A plain member sees the meetings they were listed at, once each.
    mine = client(personas["member_a"]).get("/api/activities/").json()
    assert [r["id"] for r in mine["results"]] == [records["a"].pk]


def test_retrieve_outside_scope_is_404(tree, personas, records):
    unitb = client(personas["unit_admin_b"])
    r = unitb.get(f"/api/activities/{records['a'].pk}/")
    assert r.status_code == 404 and r.json() == {"detail": "未找到，或不在您的权限范围内"}
    assert "学习党章" not in r.content.decode()
    ok = unitb.get(f"/api/activities/{records['b'].pk}/")
    assert ok.status_code == 200 and ok.json()["topic"] == "专题党课"
    assert client(personas["member_a"]).get(f"/api/activities/{records['b'].pk}/").status_code == 404


def test_create_records_through_the_services(tree, personas, records):
    sec = client(personas["secretary_a1"])
    payload = {"org": "CZ01", "kinds": ["主题党日", "party_lecture"], "held_on": f"{TODAY:%Y-%m-%d}",
               "topic": "学习新党章", "lecturer": tree["ma"].pk,
               "attendance": [{"member": tree["ma"].pk, "status": "出席"},
                              {"member": records["extra"].pk, "status": "absent"}]}
    r = sec.post("/api/activities/", payload, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    a = Activity.objects.get(pk=body["id"])
    assert a.recorded_by == personas["secretary_a1"] and a.lecturer == tree["ma"]
    assert sorted(a.kind_list) == ["party_lecture", "theme_day"] and body["kinds"] == ["party_lecture", "theme_day"]
    assert dict(Attendance.objects.filter(activity=a).values_list("member__name", "status")) == {
        "李明": "present", "赵强": "absent"}
    assert (a.expected_count, a.present_count) == (2, 1)

    # Submitted twice: refused, with the reason under its field.
    again = sec.post("/api/activities/", payload, format="json")
    assert again.status_code == 400 and "请勿重复提交" in again.json()["errors"]["topic"][0]


@pytest.mark.parametrize("change, field, words", [
    ({"held_on": "2999-01-01"}, "held_on", "将来的日期"),
    ({"kinds": []}, "kinds", "类型"),
    ({"kinds": ["喝茶"]}, "kinds", "类型"),
    ({"kinds": ["民主生活会"]}, "kinds", "不开展"),
    ({"held_on": "昨天"}, "held_on", "日期不是有效的日期"),
    ({"org": "JY01"}, "org", "不在您的管理范围内"),
    ({"attendance": [{"member": "MB", "status": "present"}]}, "attendance", "党员编号"),
    ({"attendance": [{"member": 10**8, "status": "present"}]}, "attendance", "不存在"),
    ({"attendance": [{"member": "ma", "status": "迟到"}]}, "attendance", "出席情况"),
    ({"attendance": [{"member": "mb", "status": "present"}]}, "attendance", "不存在，或不在您的管理范围内"),
    ({"host": "mb"}, "host", "主持人"),
    ({"topic": 123}, "topic", "主题应为文字"),
])
def test_bad_input_is_400_in_chinese_naming_the_field(tree, personas, change, field, words):
    sec = client(personas["secretary_a1"])
    payload = {"org": "CZ01", "kinds": ["theme_day"], "held_on": f"{DAY:%Y-%m-%d}", "topic": "学习"}
    for key, value in change.items():
        if key == "attendance":
            value = [{**a, "member": tree[a["member"]].pk if a["member"] in tree else a["member"]} for a in value]
        elif key == "host":
            value = tree[value].pk
        payload[key] = value
    r = sec.post("/api/activities/", payload, format="json")
    assert r.status_code == 400, r.content
    body = r.json()
    assert field in body["errors"], body
    assert words in json.dumps(body["errors"][field], ensure_ascii=False), body
    assert not ENGLISH.search(r.content.decode())
    assert Activity.objects.count() == 0


def test_create_needs_edit_capability(tree, personas):
    r = client(personas["member_a"]).post("/api/activities/", {"org": "CZ01", "kinds": ["theme_day"],
                                                               "held_on": f"{DAY:%Y-%m-%d}"}, format="json")
    assert r.status_code == 403 and "权限" in r.json()["detail"]
    anon = APIClient().get("/api/activities/")
    assert anon.status_code in (401, 403) and "登录" in anon.json()["detail"]


def test_list_query_count_does_not_grow(tree, personas):
    wc = client(personas["wc_admin"])

    def count():
        with CaptureQueriesContext(connection) as q:
            assert wc.get("/api/activities/").status_code == 200
        return len(q)

    acts.record_activity(None, tree["a1"], ["theme_day"], DAY, attendance={tree["ma"].pk: "present"})
    count()  # the user's scope is read once, then kept
    small = count()
    for i in range(1, 8):
        acts.record_activity(None, tree["a1"], ["theme_day"], DAY - dt.timedelta(days=i), topic=f"第{i}次",
                             attendance={tree["ma"].pk: "present"})
    assert count() == small


def test_list_answers_what_the_serializer_answers(tree, personas, settings, tmp_path):
    """The list is built from plain rows (activity_list_data): every record of it, byte for byte
    the record's answer through ActivitySerializer, with attendance, attachments (one removed),
    a start time, a host, a lecturer from outside and empty figures."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.renderers import JSONRenderer

    from dangjian.activities.api import ActivityViewSet
    from dangjian.activities.serializers import ActivitySerializer

    settings.MEDIA_ROOT = tmp_path
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
    extra = factories.member(tree["a1"], name="赵强")
    full = acts.record_activity(None, tree["a1"], ["party_lecture", "general_meeting"], DAY, starts_at=dt.time(14, 30),
                                place="会议室", topic="学习党章", host=tree["ma"], lecturer_name="市委党校教授",
                                minutes="记录\n第二行", attendance={tree["ma"].pk: "present",
                                                                 extra.pk: ("excused", "出差")},
                                attachments=[SimpleUploadedFile("签到表.pdf", pdf, "application/pdf"),
                                             SimpleUploadedFile("b.pdf", pdf + b" ", "application/pdf")])
    acts.remove_attachment(None, full.attachments.get(name="b.pdf"))
    acts.record_activity(None, tree["a1"], ["party_lecture"], DAY - dt.timedelta(days=3))
    acts.record_activity(None, tree["b1"], ["committee_meeting"], DAY - dt.timedelta(days=5),
                         counts={"expected_count": 5, "present_count": 4})
    withdrawn = acts.record_activity(None, tree["b1"], ["theme_day"], DAY - dt.timedelta(days=6))
    acts.withdraw_activity(None, withdrawn, "重复录入")

    body = client(personas["wc_admin"]).get("/api/activities/").json()
    records = Activity.objects.filter(status=Activity.Status.ACTIVE).order_by("-held_on", "-id")
    expected = ActivitySerializer(ActivityViewSet().base_queryset().filter(pk__in=records), many=True).data
    expected = sorted(expected, key=lambda r: [r["id"] for r in body["results"]].index(r["id"]))
    assert len(body["results"]) == 3
    assert JSONRenderer().render(body["results"]) == JSONRenderer().render(expected)
    first = body["results"][0]
    assert first["starts_at"] == "14:30:00" and first["host"] == tree["ma"].pk and first["host_name"] == tree["ma"].name
    assert [a["name"] for a in first["attachments"]] == ["签到表.pdf"] and first["recorded_at"]
    assert [a["reason"] for a in first["attendance"]] == ["", "出差"]
    assert body["results"][1]["host"] is None and body["results"][1]["host_name"] == ""
    assert body["results"][2]["expected_count"] == 5


def test_compliance_rows_match_the_command(tree, personas, records):
    period = f"{DAY.year}Q{(DAY.month - 1) // 3 + 1}"
    out = io.StringIO()
    call_command("compliance", "--period", period, "--format", "json", stdout=out)
    cli_rows = json.loads(out.getvalue())
    assert cli_rows

    wc = client(personas["wc_admin"])
    body = wc.get(f"/api/compliance/?period={period}&page_size=500").json()
    key = lambda r: (r["org_code"], r["kind"], r["period"])  # noqa: E731
    assert body["count"] == len(cli_rows)
    assert sorted(body["results"], key=key) == sorted(cli_rows, key=key)
    theme = next(r for r in body["results"] if r["org_code"] == "CZ01" and r["kind"] == "theme_day"
                 and r["period"] == f"{DAY:%Y-%m}")
    assert theme["evidence"] == [records["a"].pk] and theme["status"] == "met"

    sub = wc.get(f"/api/compliance/?period={period}&org=JY&page_size=500").json()["results"]
    assert sub and {r["org_code"] for r in sub} <= {"JY", "JY01"}

    unitb = client(personas["unit_admin_b"])
    mine = unitb.get(f"/api/compliance/?period={period}&page_size=500").json()["results"]
    assert mine and {r["org_code"] for r in mine} <= {"JY", "JY01"}
    # The other subtree's org is not found, as every object outside scope.
    outside = unitb.get(f"/api/compliance/?period={period}&org=CZ")
    assert outside.status_code == 404 and outside.json()["detail"] == "未找到，或不在您的权限范围内"

    for query, field in (("", "period"), ("?period=2026Q5", "period")):
        r = wc.get("/api/compliance/" + query)
        assert r.status_code == 400 and field in r.json()["errors"]
        assert "周期" in r.json()["detail"] and not ENGLISH.search(r.content.decode())
