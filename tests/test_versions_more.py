"""Versions on the records edited beside the main ones: voter groups, rectification items,
terms, committee seats and the assessors' manual score grid. As in test_writes.py, the second
of two editors who read the same version is told in Chinese, and nothing of the first is lost."""
import datetime as dt
from decimal import Decimal

from dangjian.activities.models import Activity
from dangjian.assessment.models import ManualScore
from dangjian.members.models import Member
from dangjian.orgs import services as org_services
from dangjian.orgs.models import CommitteeSeat, Organization, Term
from dangjian.reviews import services as review_services
from dangjian.reviews.models import DutyReport, VoterGroup
from tests import factories
from tests.test_writes import api_as, form_of, web_as


def _review_with_group(tree):
    review = review_services.create_review(None, tree["wc"], factories.TODAY.year, "年度述职评议")
    return review, review_services.add_group(None, review, "党员代表", 60)


# ---- 投票群体 ----------------------------------------------------------------------------------

def test_second_organizer_changing_a_voter_group_is_refused(tree, personas):
    review, group = _review_with_group(tree)
    url = f"/reviews/{review.pk}/groups/"
    first, second = web_as(personas["wc_admin"]), web_as(personas["wc_admin"])
    read = group.version  # both organizers drew the group at this version
    sent = {"action": "update", "group": group.pk, "version": read}
    assert first.post(url, {**sent, "name": "党员代表", "weight": "70"}).status_code == 302
    refused = second.post(url, {**sent, "name": "党员代表（在职）", "weight": "60"}, follow=True)
    assert "此投票群体已被他人修改" in refused.content.decode()
    stored = VoterGroup.objects.get(pk=group.pk)
    assert (stored.name, stored.weight) == ("党员代表", Decimal("70"))  # the first change kept
    assert stored.version == read + 1


def test_a_report_replaced_meanwhile_is_not_replaced_again_unseen(tree, personas):
    review = review_services.create_review(None, tree["wc"], factories.TODAY.year, "年度述职评议")
    url = f"/reviews/{review.pk}/submit/?org={tree['a'].pk}"
    first, second = web_as(personas["unit_admin_a"]), web_as(personas["wc_admin"])
    reporter = {"reporter": tree["ma"].pk}
    form1, form2 = {**form_of(first, url), **reporter}, {**form_of(second, url), **reporter}
    assert form1["version"] == form2["version"] == "0"  # no report yet
    text1 = "财政局机关党委书记抓基层党建工作述职：全年召开党委会十二次。" * 10
    assert first.post(url, {**form1, "text": text1}).status_code == 302
    refused = second.post(url, {**form2, "text": "教育局的另一份正文。" * 10}, follow=True)
    assert "此述职报告已被他人修改" in refused.content.decode()
    report = DutyReport.objects.get(review=review, org=tree["a"])
    assert report.text == text1.strip()

    # Both read the stored report; the second replacement is refused too.
    form1, form2 = {**form_of(first, url), **reporter}, {**form_of(second, url), **reporter}
    assert form1["version"] == str(report.version)
    assert first.post(url, {**form1, "title": "甲改的标题"}).status_code == 302
    refused = second.post(url, {**form2, "title": "乙改的标题"}, follow=True)
    assert "此述职报告已被他人修改" in refused.content.decode()
    assert DutyReport.objects.get(pk=report.pk).title == "甲改的标题"


# ---- terms and committee seats -----------------------------------------------------------------

def test_second_editor_of_a_term_is_told_and_shown_the_newer_dates(tree, personas):
    org = tree["a1"]
    org_services.set_current_term(None, org, dt.date(2022, 3, 1), dt.date(2025, 3, 1))
    url = f"/orgs/{org.pk}/term/"
    first, second = web_as(personas["secretary_a1"]), web_as(personas["unit_admin_a"])
    form1, form2 = form_of(first, url), form_of(second, url)
    assert form1["version"] == form2["version"] == str(Term.objects.get(org=org, is_current=True).version)
    assert first.post(url, {**form1, "elected_on": "2022-02-27"}).status_code == 302
    refused = second.post(url, {**form2, "ends_on": "2025-04-01"}, follow=True)
    page = refused.content.decode()
    assert "此届次已被他人修改" in page and 'value="2022-02-27"' in page
    term = Term.objects.get(org=org, is_current=True)
    assert (term.elected_on, term.ends_on) == (dt.date(2022, 2, 27), dt.date(2025, 3, 1))


def test_term_api_answers_409_to_a_stale_version(tree, personas):
    org = tree["a1"]
    url = f"/api/orgs/{org.pk}/term/"
    c = api_as("seca1")
    r = c.post(url, {"starts_on": "2022-03-01", "ends_on": "2025-03-01"}, format="json")
    assert r.status_code == 200
    read = r.json()["version"]
    assert c.post(url, {"starts_on": "2022-03-01", "ends_on": "2025-03-01", "elected_on": "2022-02-27",
                        "version": read}, format="json").status_code == 200
    r = c.post(url, {"starts_on": "2025-03-01", "ends_on": "2028-03-01", "version": read}, format="json")
    assert r.status_code == 409
    assert "此届次已被他人修改" in r.json()["detail"] and r.json()["version"] == read + 1
    assert list(Term.objects.filter(org=org).values_list("starts_on", "is_current")) == [(dt.date(2022, 3, 1), True)]


def test_a_seat_filled_again_meanwhile_is_not_vacated_from_an_old_page(tree, personas):
    org = tree["a1"]
    seat = org_services.fill_seat(None, org, "publicity_officer", tree["ma"], dt.date(2023, 5, 1))
    url = f"/orgs/seats/{seat.pk}/vacate/"
    first, second = web_as(personas["secretary_a1"]), web_as(personas["unit_admin_a"])
    form1, form2 = form_of(first, url), form_of(second, url)
    assert form1["version"] == str(CommitteeSeat.objects.get(pk=seat.pk).version)
    assert first.post(url, form1).status_code == 302
    org_services.fill_seat(None, org, "publicity_officer", tree["ma"], factories.TODAY)
    refused = second.post(url, {**form2, "since": factories.TODAY.isoformat()}, follow=True)
    assert "此委员职位已被他人修改" in refused.content.decode()
    stored = CommitteeSeat.objects.get(pk=seat.pk)
    assert (stored.holder_id, stored.held_since) == (tree["ma"].pk, factories.TODAY)


def test_an_org_changed_meanwhile_is_not_dissolved_from_an_old_page(tree, personas):
    org = factories.org(tree["a"], kind="branch", name="财政局临时党支部", code="CZ07")
    url = f"/orgs/{org.pk}/dissolve/"
    first, second = web_as(personas["unit_admin_a"]), web_as(personas["wc_admin"])
    form = form_of(second, url)
    assert form.get("version") == str(org.version)
    edit = form_of(first, f"/orgs/{org.pk}/edit/")
    assert first.post(f"/orgs/{org.pk}/edit/", {**edit, "name": "财政局第七党支部"}).status_code == 302
    refused = second.post(url, form, follow=True)
    assert "此党组织已被他人修改" in refused.content.decode()
    stored = Organization.objects.get(pk=org.pk)
    assert (stored.name, stored.status) == ("财政局第七党支部", Organization.Status.ACTIVE)


def test_a_record_corrected_meanwhile_is_not_withdrawn_from_an_old_page(tree, personas):
    activity = factories.record(tree["a1"], ["theme_day"], factories.TODAY, topic="学习党章",
                                attendance={tree["ma"].pk: "present"})
    url = f"/activities/{activity.pk}/withdraw/"
    first, second = web_as(personas["secretary_a1"]), web_as(personas["unit_admin_a"])
    form = form_of(second, url)
    assert form.get("version") == str(activity.version)
    edit = form_of(first, f"/activities/{activity.pk}/edit/")
    assert first.post(f"/activities/{activity.pk}/edit/", {**edit, "topic": "学习新党章"}).status_code == 302
    refused = second.post(url, {**form, "reason": "重复录入"}, follow=True)
    assert "此组织生活记录已被他人修改" in refused.content.decode()
    activity.refresh_from_db()
    assert (activity.status, activity.topic) == (Activity.Status.ACTIVE, "学习新党章")


def test_a_duty_item_reworded_meanwhile_is_not_retired_from_an_old_page(personas):
    from dangjian.duties import services as duty_services
    from dangjian.duties.models import DutyItem

    item = DutyItem.objects.filter(to_year__isnull=True).order_by("pk").first()
    url = f"/duties/items/edit/?item={item.pk}"
    admin = web_as(personas["wc_admin"])
    page = admin.get(url).content.decode()
    retire_form = page[page.index('value="retire"'):]
    assert f'name="version" value="{item.version}"' in retire_form[:retire_form.index("</form>")]
    duty_services.change_item(None, item, item.from_year, title="第一位编辑改的内容", version=item.version)
    refused = admin.post("/duties/items/edit/", {"action": "retire", "item": item.pk, "version": item.version,
                                                 "last_year": factories.TODAY.year}, follow=True)
    assert "此责任清单条目已被他人修改" in refused.content.decode()
    stored = DutyItem.objects.get(pk=item.pk)
    assert (stored.title, stored.to_year) == ("第一位编辑改的内容", None)


def test_a_member_transferred_meanwhile_is_not_moved_on_from_an_old_page(tree, personas):
    m = tree["ma"]
    cz02 = factories.org(tree["a"], kind="branch", name="财政局第二党支部", code="CZ02")
    url = f"/members/{m.pk}/transfer/"
    first, second = web_as(personas["unit_admin_a"]), web_as(personas["wc_admin"])
    form1, form2 = form_of(first, url), form_of(second, url)
    assert form1.get("version") == form2.get("version") == str(m.version)
    on = factories.TODAY.isoformat()
    assert first.post(url, {**form1, "to_code": "CZ02", "on": on}).status_code == 302
    refused = second.post(url, {**form2, "to_code": "JY01", "on": on}, follow=True)
    assert "此党员已被他人修改" in refused.content.decode()
    assert Member.objects.get(pk=m.pk).org_id == cz02.pk

    # The API answers 409 to the same stale version, with the one now stored.
    r = api_as("wcadmin").post(f"/api/members/{m.pk}/transfer/", {"org": "JY01", "version": form2["version"]},
                               format="json")
    assert r.status_code == 409 and r.json()["version"] == Member.objects.get(pk=m.pk).version
    assert Member.objects.get(pk=m.pk).org_id == cz02.pk


# ---- the assessors' manual score grid ----------------------------------------------------------

def test_two_assessors_on_one_grid_lose_nothing_and_block_only_the_shared_cell(tree, personas):
    scheme = factories.scheme(level="unit")
    manual = scheme.indicators.get(method="manual")
    url = f"/assessment/schemes/{scheme.pk}/manual/?period=2025-06"
    first, second = web_as(personas["wc_admin"]), web_as(personas["wc_admin"])
    form1, form2 = form_of(first, url), form_of(second, url)
    a, b = f"{manual.pk}-{tree['a'].pk}", f"{manual.pk}-{tree['b'].pk}"
    assert form1[f"v-{a}"] == form2[f"v-{a}"] == "0"  # empty cells

    # Different cells: both saves go through.
    assert first.post(url, {**form1, f"s-{a}": "4", f"c-{a}": "材料齐全"}).status_code == 302
    assert second.post(url, {**form2, f"s-{b}": "3", f"c-{b}": "缺少记录"}).status_code == 302
    scores = dict(ManualScore.objects.filter(period="2025-06").values_list("org_id", "score"))
    assert scores == {tree["a"].pk: Decimal(4), tree["b"].pk: Decimal(3)}

    # The same cell: the second assessor is told and shown the newer score; nothing of theirs is saved.
    form1, form2 = form_of(first, url), form_of(second, url)
    assert first.post(url, {**form1, f"s-{a}": "5", f"c-{a}": "融合有特色"}).status_code == 302
    refused = second.post(url, {**form2, f"s-{a}": "2", f"c-{a}": "只听汇报", f"s-{b}": "3.5"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "此考核组评分已被他人修改" in page and 'value="融合有特色"' in page
    scores = dict(ManualScore.objects.filter(period="2025-06").values_list("org_id", "score"))
    assert scores == {tree["a"].pk: Decimal(5), tree["b"].pk: Decimal(3)}
