"""Every door has the same limits: the web form refuses what the API refuses (a record's text
lengths), and dates that cannot belong to the Party's history (an org founded in 1800, a
member who joined before 1921-07-01) are refused by the shared checks, wherever they come in."""
import datetime as dt
import json

from rest_framework.test import APIClient

from dangjian.activities.models import Activity
from dangjian.activities.serializers import ActivityWriteSerializer
from dangjian.members.models import Member
from dangjian.orgs.forms import EditOrgForm
from dangjian.orgs.models import Organization
from tests.factories import TODAY, cli, counts, login, org_row, person, sheet

DAY = TODAY - dt.timedelta(days=5)


def post_record(client, org, people, **overrides):
    data = {"kinds": ["theme_day"], "held_on": DAY.isoformat(), "starts_at": "14:30", "place": "三楼会议室",
            "topic": "学习党章", "minutes": "学习党章。", "decisions": ""}
    data.update({f"att_{m.pk}": "present" for m in people})
    data.update(overrides)
    return client.post(f"/activities/org/{org.pk}/new/", data)


def api_client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_the_record_form_refuses_minutes_longer_than_the_api_allows(tree, personas):
    api_fields = ActivityWriteSerializer().fields  # the API's own limits
    c = login(personas["secretary_a1"])
    limit = api_fields["minutes"].max_length
    r = post_record(c, tree["a1"], [tree["ma"]], minutes="学" * (2 * limit + 1))
    assert r.status_code == 200 and not Activity.objects.exists()
    assert f"{limit}" in r.content.decode().replace(",", "")
    r = post_record(c, tree["a1"], [tree["ma"]], decisions="决" * (api_fields["decisions"].max_length + 1))
    assert r.status_code == 200 and not Activity.objects.exists()
    # The API refuses the same lengths.
    api = api_client(personas["secretary_a1"])
    body = {"org": tree["a1"].code, "kinds": ["theme_day"], "held_on": DAY.isoformat(), "minutes": "学" * (limit + 1),
            "attendance": [{"member": tree["ma"].pk, "status": "present"}]}
    assert api.post("/api/activities/", body, format="json").status_code == 400
    # At the limit, both accept.
    r = post_record(c, tree["a1"], [tree["ma"]], minutes="学" * limit)
    assert r.status_code == 302 and len(Activity.objects.get().minutes) == limit


def test_an_org_cannot_be_founded_before_the_party(tree, personas):
    org = tree["a1"]
    api = api_client(personas["unit_admin_a"])
    r = api.patch(f"/api/orgs/{org.pk}/", {"established_on": "1800-01-01"}, format="json")
    assert r.status_code == 400
    assert "成立日期不能早于中国共产党成立的 1921-07-01（现为 1800-01-01）" in r.content.decode()
    assert api.patch(f"/api/orgs/{org.pk}/", {"established_on": "1921-07-01"}, format="json").status_code == 200

    form = EditOrgForm(instance=org, editable_orgs=Organization.objects.all())
    data = {k: v for k, v in form.initial.items() if v not in (None, False)}
    data["established_on"] = "1800-01-01"
    r = login(personas["unit_admin_a"]).post(f"/orgs/{org.pk}/edit/", data)
    assert r.status_code == 200 and "成立日期不能早于中国共产党成立的 1921-07-01" in r.content.decode()
    assert Organization.objects.get(pk=org.pk).established_on == dt.date(1921, 7, 1)


def test_imports_refuse_dates_before_the_party_on_their_rows(tree, tmp_path):
    before = counts()
    path = sheet(tmp_path / "o.xlsx", [org_row("CZ09", **{"成立日期": dt.date(1800, 1, 1),
                                                           "本届开始日期": dt.date(1900, 3, 1),
                                                           "本届届满日期": dt.date(1903, 3, 1)})])
    code, out, _ = cli("import-orgs", str(path), "--format", "json")
    errors = {(e["column"], e["message"]) for e in json.loads(out)["errors"]}
    assert code == 1
    assert ("成立日期", "成立日期不能早于中国共产党成立的 1921-07-01（现为 1800-01-01），请核对") in errors
    assert ("本届开始日期", "本届开始日期不能早于中国共产党成立的 1921-07-01（现为 1900-03-01），请核对") in errors
    path = sheet(tmp_path / "m.xlsx", [person(1, **{"入党日期": dt.date(1900, 7, 1), "转正日期": dt.date(1901, 7, 1),
                                                    "出生日期": dt.date(1880, 1, 1)})])
    code, out, _ = cli("import-members", str(path), "--format", "json")
    messages = " ".join(e["message"] for e in json.loads(out)["errors"])
    assert code == 1 and "入党日期不能早于中国共产党成立的 1921-07-01" in messages
    assert "出生日期不能早于 1900-01-01" in messages
    assert counts() == before


def test_the_member_api_refuses_a_joining_before_the_party(tree, personas):
    api = api_client(personas["unit_admin_a"])
    r = api.patch(f"/api/members/{tree['ma'].pk}/", {"joined_on": "1900-07-01", "confirmed_on": "1901-07-01"},
                  format="json")
    assert r.status_code == 400 and "入党日期不能早于中国共产党成立的 1921-07-01" in r.content.decode()
    assert Member.objects.get(pk=tree["ma"].pk).joined_on.year > 1921


def test_an_activity_before_the_party_is_refused(tree, personas):
    c = login(personas["secretary_a1"])
    r = post_record(c, tree["a1"], [tree["ma"]], held_on="1921-06-30")
    assert r.status_code == 200 and not Activity.objects.exists()
    assert "日期不能早于中国共产党成立的 1921-07-01（现为 1921-06-30）" in r.content.decode()
