"""评先评优: honours, 表彰决定 from draft to published, the 表彰通报 .docx, the honours on the org and
member pages, the list with its counts and export, the `honours` command and the API."""
import datetime as dt
import io
import json

import docx
import openpyxl
import pytest
from django.core.management import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from dangjian.assessment.models import Run, TargetScore
from dangjian.commendations import queries, services
from dangjian.commendations.checks import CommendationError
from dangjian.commendations.models import Commendation, Decision, Honour
from dangjian.core.models import AuditEntry
from dangjian.ratings.models import Rating, RatingRun, RatingScheme
from tests import factories

TODAY = dt.date(2026, 12, 1)


def honour(code: str) -> Honour:
    return Honour.objects.get(code=code)


def written() -> tuple[int, int, int]:
    return Decision.objects.count(), Commendation.objects.count(), AuditEntry.objects.count()


def test_the_four_titles_are_seeded(db):
    assert dict(Honour.objects.values_list("name", "recipient")) == {
        "先进基层党组织": "org", "优秀共产党员": "member", "优秀党务工作者": "member", "党建工作优秀单位": "org"}


def test_draft_entries_publish_and_read_only(tree, personas):
    staff = personas["wc_admin"]
    d = services.create_decision(staff, issuer=tree["wc"], number="市直机关工委〔2026〕12号",
                                 decided_on=dt.date(2026, 2, 3), title="关于表彰2025年度先进基层党组织的决定", year=2025)
    made = services.add_commendations(staff, d, [(honour("advanced_org"), tree["a1"], None),
                                                 (honour("excellent_member"), None, tree["mb"])])
    assert [(c.org_id, c.member_id) for c in made] == [(tree["a1"].pk, None), (tree["b1"].pk, tree["mb"].pk)]
    assert AuditEntry.objects.filter(table="commendations.commendation", action="create").count() == 2
    # A draft counts nowhere.
    assert queries.command_rows(2025) == []
    services.publish(staff, d, version=d.version)
    d.refresh_from_db()
    assert d.is_published and d.published_by == staff
    before = written()
    for attempt in (
        lambda: services.add_commendations(staff, d, [(honour("advanced_org"), tree["b1"], None)]),
        lambda: services.remove_commendation(staff, made[0]),
        lambda: services.update_decision(staff, d, number=d.number, decided_on=d.decided_on, title="改", year=2025),
        lambda: services.delete_draft(staff, d),
        lambda: services.publish(staff, d),
    ):
        with pytest.raises(CommendationError, match="已印发"):
            attempt()
    assert written() == before


@pytest.mark.parametrize("fields, field, message", [
    ({"number": ""}, "number", "文号：必填"),
    ({"number": "12号"}, "number", "格式不对"),
    ({"decided_on": None}, "decided_on", "成文日期：必填"),
    ({"decided_on": dt.date(2027, 1, 1)}, "decided_on", "晚于今天"),
    ({"title": " "}, "title", "标题：必填"),
    ({"year": 1990}, "year", "不在"),
])
def test_bad_decision_headers_are_refused_in_chinese(tree, fields, field, message):
    args = dict(issuer=tree["wc"], number="市直机关工委〔2026〕1号", decided_on=dt.date(2026, 2, 1), title="决定",
                year=2025, today=TODAY) | fields
    before = written()
    with pytest.raises(CommendationError, match=message) as exc:
        services.create_decision(None, **args)
    assert exc.value.field == field and written() == before


def test_duplicate_number_and_branch_issuer_are_refused(tree):
    factories.decision(tree["wc"], number="市直机关工委〔2026〕5号")
    before = written()
    with pytest.raises(CommendationError, match="已被另一份表彰决定使用"):
        factories.decision(tree["a"], number="市直机关工委〔2026〕5号")
    with pytest.raises(CommendationError, match="表彰决定由机关工委或单位党组织"):
        factories.decision(tree["a1"])
    assert written() == before


def test_bad_entries_are_refused_and_nothing_is_partly_written(tree, personas):
    d = factories.decision(tree["a"])
    before = written()
    cases = [
        ([(honour("advanced_org"), tree["b1"], None)], "不在市财政局机关党委的范围内"),
        ([(honour("advanced_org"), None, tree["ma"])], "表彰党组织，不能授予个人（李明）"),
        ([(honour("excellent_member"), tree["a1"], None)], "表彰党员个人，请选择党员"),
        # the first is fine, the second repeats the member: neither is written
        ([(honour("excellent_member"), None, tree["ma"]), (honour("excellent_party_worker"), None, tree["ma"])],
         "同一名党员在一份决定中只能表彰一次"),
        ([], "请至少选择一个表彰对象"),
    ]
    for items, message in cases:
        with pytest.raises(CommendationError, match=message):
            services.add_commendations(None, d, items)
    assert written() == before
    # Another unit's admin decides nothing of this unit's decision, nor in its name.
    with pytest.raises(CommendationError, match="不在您的权限范围内"):
        services.add_commendations(personas["unit_admin_b"], d, [(honour("advanced_org"), tree["a1"], None)])
    with pytest.raises(CommendationError, match="不在您的权限范围内"):
        services.create_decision(personas["unit_admin_b"], issuer=tree["a"], number="财委〔2026〕1号",
                                 decided_on=dt.date(2026, 1, 5), title="决定", year=2025)
    assert written() == before


def test_a_member_twice_across_calls_and_an_org_twice_are_refused(tree):
    d = factories.decision(tree["wc"], entries=[("excellent_member", tree["ma"]), ("advanced_org", tree["a1"])])
    with pytest.raises(CommendationError, match="已在本决定中受到表彰（优秀共产党员）"):
        services.add_commendations(None, d, [(honour("excellent_party_worker"), None, tree["ma"])])
    with pytest.raises(CommendationError, match="已在本决定中获评“先进基层党组织”"):
        services.add_commendations(None, d, [(honour("advanced_org"), tree["a1"], None)])
    # the same org under another title is fine
    services.add_commendations(None, d, [(honour("excellent_unit"), tree["a1"], None)])
    assert d.commendations.count() == 3


def test_command_json_matches_the_records(tree):
    factories.org(tree["a"], name="财政局第二党支部", code="CZ02")
    one = factories.decision(tree["wc"], number="市直机关工委〔2026〕3号", decided_on=dt.date(2026, 3, 1), publish=True,
                             entries=[("advanced_org", tree["a1"]), ("advanced_org", tree["b1"]),
                                      ("excellent_member", tree["ma"]), ("excellent_unit", tree["b"])])
    two = factories.decision(tree["a"], number="财政局机关党委〔2026〕1号", decided_on=dt.date(2026, 1, 20),
                             publish=True, entries=[("excellent_party_worker", tree["ma"])])
    factories.decision(tree["wc"], entries=[("advanced_org", tree["a1"])])  # a draft: never counted
    factories.decision(tree["wc"], year=2024, publish=True, entries=[("advanced_org", tree["b1"])])  # another year
    code, out = factories.cli_json("honours", "--year", "2025")
    assert code == 0
    # The reference: each published 2025 decision's rows, read straight from the table.
    expected = []
    for d in sorted([one, two], key=lambda d: d.decided_on):
        rows = (Commendation.objects.filter(decision=d).order_by("honour__position", "position")
                .values_list("honour__name", "org__code", "org__name", "member__name"))
        expected.append({"number": d.number, "date": d.decided_on.isoformat(), "title": d.title,
                         "honours": [{"honour": h, "org_code": c, "org_name": n, "member_name": m}
                                     for h, c, n, m in rows]})
    assert out == {"decisions": expected}
    assert out["decisions"][0]["number"] == "财政局机关党委〔2026〕1号"
    assert {"honour": "党建工作优秀单位", "org_code": "JY", "org_name": "市教育局机关党委", "member_name": None} in \
        out["decisions"][1]["honours"]
    # --org keeps the honours whose org is in the subtree, and the decisions keeping one.
    _, cz = factories.cli_json("honours", "--year", "2025", "--org", "CZ")
    assert [(d["number"], [(h["org_code"], h["member_name"]) for h in d["honours"]]) for d in cz["decisions"]] == [
        ("财政局机关党委〔2026〕1号", [("CZ01", "李明")]),
        ("市直机关工委〔2026〕3号", [("CZ01", None), ("CZ01", "李明")])]
    _, jy01 = factories.cli_json("honours", "--year", "2025", "--org", "JY01")
    assert [len(d["honours"]) for d in jy01["decisions"]] == [1]
    code, table, _ = factories.cli("honours", "--year", "2025", "--format", "table")
    assert code == 0 and "李明" in table and "市直机关工委〔2026〕3号" in table and "表彰 5 个" in table
    with pytest.raises(CommandError, match="没有组织代码为“NOPE”的党组织"):
        factories.cli("honours", "--year", "2025", "--org", "NOPE", "--format", "json")


def test_docx_names_every_honoured_org_and_member(tree, personas):
    d = factories.decision(tree["wc"], title="关于表彰2025年度先进集体和个人的决定", publish=True,
                           entries=[("advanced_org", tree["a1"]), ("excellent_member", tree["mb"])])
    client = factories.login(personas["wc_admin"])
    r = client.get(reverse("commendations:docx", args=[d.pk]))
    assert r.status_code == 200
    doc = docx.Document(io.BytesIO(b"".join(r.streaming_content)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "关于表彰2025年度先进集体和个人的决定" in text
    assert "财政局第一党支部" in text and "王芳（教育局第一党支部）" in text
    assert "一、先进基层党组织（1个）" in text and "二、优秀共产党员（1名）" in text
    assert "决定对以下 1 个先进集体、1 名先进个人予以通报表彰" in text
    assert doc.paragraphs[-2].text == "示例市直机关工委" and doc.paragraphs[-1].text == "二〇二六年二月一日"
    assert AuditEntry.objects.filter(action="export", changes__kind="honours-docx").count() == 1
    # another unit's admin: 404, for the page and the file
    other = factories.login(personas["unit_admin_b"])
    for name in ("decision", "docx", "decision-edit"):
        assert other.get(reverse(f"commendations:{name}", args=[d.pk])).status_code == 404


def test_org_and_member_pages_show_published_honours(tree, personas):
    factories.decision(tree["wc"], number="市直机关工委〔2026〕7号", publish=True,
                       entries=[("advanced_org", tree["a1"]), ("excellent_member", tree["ma"])])
    factories.decision(tree["wc"], number="市直机关工委〔2026〕8号", entries=[("excellent_unit", tree["a"])])  # draft
    client = factories.login(personas["unit_admin_a"])
    org_page = client.get(reverse("orgs:detail", args=[tree["a1"].pk])).content.decode()
    assert "受到表彰" in org_page and "先进基层党组织" in org_page and "市直机关工委〔2026〕7号" in org_page
    member_page = client.get(reverse("members:detail", args=[tree["ma"].pk])).content.decode()
    assert "优秀共产党员" in member_page and "市直机关工委〔2026〕7号" in member_page
    assert "受到表彰" not in client.get(reverse("orgs:detail", args=[tree["a"].pk])).content.decode()
    assert "受到表彰" not in client.get(reverse("members:detail", args=[tree["mb"].pk])).content.decode()
    # a plain member finds their own honour on their own page, and no list of others
    own = factories.login(personas["member_a"])
    assert "市直机关工委〔2026〕7号" in own.get(reverse("members:detail", args=[tree["ma"].pk])).content.decode()
    assert own.get(reverse("commendations:index")).status_code == 404


def _grow(tree, n: int, start: int):
    """n more branches under 财政局, each honoured with one of its members, in published decisions."""
    for i in range(start, start + n):
        b = factories.branch_with(tree["a"], full=2, code=f"CZX{i:03d}")
        factories.decision(tree["wc"], number=f"市直机关工委〔2026〕{100 + i}号", publish=True,
                           entries=[("advanced_org", b), ("excellent_member", b.people[0])])


def test_list_page_queries_do_not_grow_with_data(tree, personas):
    client = factories.login(personas["wc_admin"])
    url = reverse("commendations:index") + "?year=2025&org=CZ"
    _grow(tree, 2, 0)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        r = client.get(url)
    assert r.status_code == 200
    _grow(tree, 12, 2)
    with CaptureQueriesContext(connection) as big:
        r = client.get(url)
    page = r.content.decode()
    assert len(big) == len(small), [q["sql"] for q in big.captured_queries]
    assert 'data-count="14"' in page  # 先进基层党组织 in the chart, and 14 优秀共产党员
    with CaptureQueriesContext(connection) as decisions:
        client.get(reverse("commendations:decisions"))
    _grow(tree, 5, 20)
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("commendations:decisions"))
    assert len(more) == len(decisions)


def test_list_counts_filters_and_export(tree, personas):
    factories.decision(tree["wc"], publish=True, entries=[("advanced_org", tree["a1"]), ("advanced_org", tree["b1"]),
                                                          ("excellent_member", tree["ma"])])
    factories.decision(tree["wc"], year=2024, publish=True, entries=[("advanced_org", tree["a1"])])
    client = factories.login(personas["unit_admin_b"])
    page = client.get(reverse("commendations:index")).content.decode()
    # unitb sees only what was given in 教育局: one 先进基层党组织, nothing of 财政局
    assert "教育局第一党支部" in page and "财政局第一党支部" not in page and "李明" not in page
    staff = factories.login(personas["wc_admin"])
    adv = honour("advanced_org")
    page = staff.get(reverse("commendations:index") + f"?year=2025&honour={adv.pk}").content.decode()
    assert page.count('data-org="') == 2
    r = staff.get(reverse("commendations:export") + "?year=2025")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:5] == ("表彰年度", "荣誉称号", "党组织", "组织代码", "党员")
    assert sorted((r[1], r[3], r[4]) for r in rows[1:]) == [
        ("优秀共产党员", "CZ01", "李明"), ("先进基层党组织", "CZ01", None), ("先进基层党组织", "JY01", None)]
    assert not any(isinstance(v, str) and v.startswith("=") for row in rows for v in row)
    assert AuditEntry.objects.filter(action="export", changes__kind="honours").count() == 1


def test_web_flow_from_suggestions_to_published(tree, personas):
    """Suggestions from the 2025 star rating and the year's 好 grades; one free choice of a member."""
    scheme = RatingScheme.objects.create(year=2025, basis="compliance")
    run = RatingRun.objects.create(scheme=scheme, year=2025, rated_on=dt.date(2025, 12, 31))
    Rating.objects.create(run=run, org=tree["a1"], year=2025, base_level="star5", level="star5", commendable=True)
    Rating.objects.create(run=run, org=tree["b1"], year=2025, base_level="star1", level="star1", commendable=False)
    ascheme = factories.scheme(level="unit", code="U2025")
    arun = Run.objects.create(scheme=ascheme, period="2025-04", cycle="monthly", period_start=dt.date(2025, 4, 1),
                              period_end=dt.date(2025, 4, 30), target_count=2)
    TargetScore.objects.create(run=arun, org=tree["b"], total=96, grade="excellent", place=1, breakdown=[])
    TargetScore.objects.create(run=arun, org=tree["a"], total=70, grade="fair", place=2, breakdown=[])
    client = factories.login(personas["wc_admin"])
    r = client.post(reverse("commendations:decision-new"), {
        "issuer": "WC", "number": "市直机关工委〔2026〕9号", "decided_on": "2026-02-10",
        "title": "关于表彰2025年度先进基层党组织和党建工作优秀单位的决定", "year": "2025"})
    d = Decision.objects.get(number="市直机关工委〔2026〕9号")
    assert r.status_code == 302 and d.issuer == tree["wc"]
    page = client.get(reverse("commendations:decision", args=[d.pk])).content.decode()
    assert f'value="{tree["a1"].pk}:{honour("advanced_org").pk}"' in page
    assert f'value="{tree["b"].pk}:{honour("excellent_unit").pk}"' in page
    assert f'value="{tree["b1"].pk}:' not in page and f'value="{tree["a"].pk}:' not in page
    r = client.post(reverse("commendations:decision-add", args=[d.pk]), {"pick": [
        f"{tree['a1'].pk}:{honour('advanced_org').pk}", f"{tree['b'].pk}:{honour('excellent_unit').pk}"]})
    assert r.status_code == 302 and d.commendations.count() == 2
    # free choice: a person by name in an org; an org honour given a person is refused in Chinese
    r = client.post(reverse("commendations:decision-add", args=[d.pk]), {
        "honour": honour("advanced_org").pk, "org": "JY01", "member_name": "王芳"})
    assert r.status_code == 400 and "表彰党组织，不能授予个人（王芳）" in r.content.decode()
    r = client.post(reverse("commendations:decision-add", args=[d.pk]), {
        "honour": honour("excellent_member").pk, "org": "JY01", "member_name": "王芳"})
    assert r.status_code == 302
    assert d.commendations.filter(member=tree["mb"], org=tree["b1"]).exists()
    r = client.post(reverse("commendations:decision-new"), {
        "issuer": "WC", "number": "市直机关工委〔2026〕9号", "decided_on": "2026-02-10", "title": "决定", "year": "2025"})
    assert r.status_code == 200 and "已被另一份表彰决定使用" in r.content.decode()
    r = client.post(reverse("commendations:publish", args=[d.pk]), {"version": d.version})
    d.refresh_from_db()
    assert d.is_published
    # published: read-only on the page too
    page = client.get(reverse("commendations:decision", args=[d.pk])).content.decode()
    assert "自行添加" not in page and "已印发的决定不能修改" in page
    # its history reads in Chinese: drafted, the entries, published
    assert "起草表彰决定" in page and "印发表彰决定" in page and "草稿 → 已印发" in page
    assert "表彰对象（优秀共产党员：王芳）" in page


def test_another_units_admin_decides_nothing_of_yours(tree, personas):
    d = factories.decision(tree["a"], entries=[("advanced_org", tree["a1"])])
    other = factories.login(personas["unit_admin_b"])
    for name in ("decision-add", "entry-remove", "publish", "delete"):
        assert other.post(reverse(f"commendations:{name}", args=[d.pk]), {"entry": "1"}).status_code == 404
    r = other.post(reverse("commendations:decision-new"), {
        "issuer": "CZ", "number": "财委〔2026〕2号", "decided_on": "2026-02-10", "title": "决定", "year": "2025"})
    assert r.status_code == 200 and not Decision.objects.filter(number="财委〔2026〕2号").exists()
    # its own unit's decision cannot honour the other unit's branch (the org field finds none)
    own = factories.decision(tree["b"])
    mine = factories.login(personas["unit_admin_b"])
    r = mine.post(reverse("commendations:decision-add", args=[own.pk]), {"honour": honour("advanced_org").pk,
                                                                         "org": "CZ01"})
    assert r.status_code == 400 and not own.commendations.exists()


def test_api_lists_decisions_in_scope_with_their_honours(tree, personas):
    a = factories.decision(tree["a"], publish=True, entries=[("excellent_member", tree["ma"])])
    b = factories.decision(tree["b"], entries=[("advanced_org", tree["b1"])])
    api = APIClient()
    api.force_authenticate(personas["unit_admin_b"])
    data = api.get("/api/commendations/").json()
    assert [x["number"] for x in data["results"]] == [b.number]
    assert data["results"][0]["honours"] == [{"id": b.commendations.get().pk, "honour": "先进基层党组织",
                                              "org_code": "JY01", "org_name": "教育局第一党支部",
                                              "member_id": None, "member_name": None}]
    assert api.get(f"/api/commendations/{a.pk}/").status_code == 404
    assert api.post("/api/commendations/", {}, format="json").status_code == 405
    staff = APIClient()
    staff.force_authenticate(personas["wc_admin"])
    got = staff.get(f"/api/commendations/{a.pk}/").json()
    assert got["honours"][0]["member_name"] == "李明" and got["status"] == "published"
    assert staff.get("/api/commendations/?year=20x5").status_code == 400


def test_staff_add_a_title_others_get_404(tree, personas):
    staff = factories.login(personas["wc_admin"])
    r = staff.post(reverse("commendations:honours"), {"name": "优秀共青团员", "recipient": "member"})
    assert r.status_code == 302 and Honour.objects.get(name="优秀共青团员").for_member
    r = staff.post(reverse("commendations:honours"), {"name": "优秀共青团员", "recipient": "member"})
    assert "已存在" in r.content.decode()
    assert factories.login(personas["unit_admin_a"]).get(reverse("commendations:honours")).status_code == 404


def test_plain_member_sees_no_list(tree, personas):
    client = factories.login(personas["member_a"])
    assert client.get(reverse("commendations:index")).status_code == 404


def test_json_is_plain_json(tree):
    factories.decision(tree["wc"], publish=True, entries=[("advanced_org", tree["a1"])])
    _, out, _ = factories.cli("honours", "--year", "2025", "--format", "json")
    assert json.loads(out)["decisions"][0]["honours"][0]["member_name"] is None


@pytest.mark.django_db(transaction=True)
def test_the_demo_city_has_its_2025_decision_from_the_candidates():
    out = io.StringIO()
    from django.core.management import call_command

    call_command("demo", members=300, seed=5, today="2026-06-30", stdout=out, stderr=io.StringIO())
    code, data = factories.cli_json("honours", "--year", "2025")
    assert code == 0 and len(data["decisions"]) == 1
    decision = data["decisions"][0]
    assert decision["number"] == "市直机关工委〔2026〕3号" and decision["date"] == "2026-03-01"
    honoured = {(h["honour"], h["org_code"]) for h in decision["honours"] if h["member_name"] is None}
    # generated from the candidates: the 2025 star-rating candidates and the targets graded 好 in 2025
    rated = set(Rating.objects.filter(year=2025, commendable=True).values_list("org__code", flat=True))
    graded = set(TargetScore.objects.filter(run__period_start__year=2025, grade="excellent")
                 .values_list("org__code", "run__scheme__level"))
    advanced = {c for h, c in honoured if h == "先进基层党组织"}
    units = {c for h, c in honoured if h == "党建工作优秀单位"}
    assert advanced | units
    assert advanced <= rated | {c for c, level in graded if level == "branch"}
    assert units <= {c for c, level in graded if level == "unit"}
    assert len(advanced) == min(10, len(rated | {c for c, level in graded if level == "branch"}))
    people = [h for h in decision["honours"] if h["member_name"]]
    assert people and len({(h["member_name"], h["org_code"]) for h in people}) == len(people)
    d = Decision.objects.get(number=decision["number"])
    staff = Decision.objects.get(pk=d.pk).published_by
    client = factories.login(staff)
    r = client.get(reverse("commendations:docx", args=[d.pk]))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(b"".join(r.streaming_content))).paragraphs)
    assert all(h["org_name"] in text for h in decision["honours"])
    assert all(h["member_name"] in text for h in people)
    assert "表彰决定" in out.getvalue()


def test_pages_fit_a_phone(transactional_db, live_server, personas, tree, browser_page):
    """At 390 px the list, the decision (draft, with its forms) and the org page scroll no wider."""
    d = factories.decision(tree["wc"], entries=[("advanced_org", tree["a1"]), ("excellent_member", tree["mb"])])
    factories.decision(tree["wc"], number="市直机关工委〔2026〕77号", publish=True,
                       entries=[("advanced_org", tree["b1"]), ("excellent_party_worker", tree["ma"])])
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, live_server.url, "wcadmin")
    for url in (reverse("commendations:index"), reverse("commendations:decisions"),
                reverse("commendations:decision", args=[d.pk]), reverse("orgs:detail", args=[tree["b1"].pk])):
        page.goto(live_server.url + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
    assert "先进基层党组织" in page.content()
