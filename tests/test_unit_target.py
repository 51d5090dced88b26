"""A unit-level assessment target is the unit's 党组 with its organ party organization (seed 000:
the 党组（党委）书记 is the first responsible person): the 党组 is never a target of its own, its
figures count for the unit, and its secretary is expected to 述职 beside the organ party
secretary. The figures are checked against a reference that walks the tree by parent links."""
import datetime as dt

import pytest

from dangjian.activities import services as acts
from dangjian.assessment import metrics
from dangjian.assessment.models import Level
from dangjian.assessment.queries import targets
from dangjian.duties import completion
from dangjian.orgs import services as org_services
from dangjian.orgs.alerts import structure_alerts
from dangjian.orgs.models import Organization
from dangjian.reviews import services as review_services
from dangjian.reviews.models import DutyReport, DutyReview
from tests import factories

YEAR = 2025


@pytest.fixture
def units(db):
    """工委 → 市财政局 (党组 + 机关党委 with two branches), 市教育局 (机关党委 only), 市审计局 (党组,
    a 党总支 and a separate 支部 under the working committee)."""
    wc = factories.org(kind="working_committee", name="示例市直机关工委", code="WC")

    def unit(name):
        return org_services.unit_named(name)

    cz_dz = factories.org(wc, kind="leading_group", name="市财政局党组", code="CZ-DZ", unit=unit("市财政局"))
    cz = factories.org(wc, kind="organ_committee", name="市财政局机关党委", code="CZ", unit=unit("市财政局"))
    cz1 = factories.branch_with(cz, full=4, code="CZ01", unit=unit("市财政局"))
    cz2 = factories.branch_with(cz, full=2, code="CZ02", unit=unit("市财政局"))  # too small: an alert
    jy = factories.org(wc, kind="organ_committee", name="市教育局机关党委", code="JY", unit=unit("市教育局"))
    jy1 = factories.branch_with(jy, full=5, code="JY01", unit=unit("市教育局"))
    sj_dz = factories.org(wc, kind="leading_group", name="市审计局党组", code="SJ-DZ", unit=unit("市审计局"))
    sj = factories.org(wc, kind="general_branch", name="市审计局党总支", code="SJ", unit=unit("市审计局"))
    sj_b = factories.branch_with(wc, full=3, code="SJ-ZB", unit=unit("市审计局"))
    # The 党组书记 is on the 党组's roll and holds its secretary seat.
    secretary = factories.member(cz_dz, name="赵书记")
    org_services.fill_seat(None, cz_dz, "secretary", secretary, dt.date(2023, 1, 1))
    org_services.fill_seat(None, cz, "secretary", factories.member(cz, name="钱书记"), dt.date(2023, 1, 1))
    return {"wc": wc, "cz_dz": cz_dz, "cz": cz, "cz1": cz1, "cz2": cz2, "jy": jy, "jy1": jy1,
            "sj_dz": sj_dz, "sj": sj, "sj_b": sj_b, "secretary": secretary}


def answered_by(units) -> dict[int, set[int]]:
    """{target org id: the ids of the orgs it answers for}, walking children by parent links: the
    target's subtree, and the subtree of its unit's 党组 for the unit's highest organization."""
    orgs = list(Organization.objects.filter(status="active").values("pk", "parent_id", "kind", "unit_id"))
    children: dict[int | None, list[int]] = {}
    for o in orgs:
        children.setdefault(o["parent_id"], []).append(o["pk"])

    def subtree(pk):
        out, todo = set(), [pk]
        while todo:
            x = todo.pop()
            out.add(x)
            todo += children.get(x, [])
        return out

    wc = units["wc"].pk
    out = {}
    rank = ("committee", "organ_committee", "general_branch", "branch")
    tops = [o for o in orgs if o["parent_id"] == wc]
    for o in tops:
        if o["kind"] == "leading_group":
            continue
        mine = subtree(o["pk"])
        same_unit = [t for t in tops if t["unit_id"] == o["unit_id"] and t["kind"] != "leading_group"]
        highest = min(same_unit, key=lambda t: (rank.index(t["kind"]), t["pk"]))
        if highest["pk"] == o["pk"]:
            for g in tops:
                if g["kind"] == "leading_group" and g["unit_id"] == o["unit_id"]:
                    mine |= subtree(g["pk"])
        out[o["pk"]] = mine
    return out


def test_unit_targets_answer_for_their_party_group(units):
    found = {t.org_id: t for t in targets(Level.UNIT)}
    assert set(found) == {units[k].pk for k in ("cz", "jy", "sj", "sj_b")}  # no 党组 is a target
    assert found[units["cz"].pk].also == (units["cz_dz"].path,)
    assert found[units["jy"].pk].also == ()
    # 市审计局's 党组 counts once, with its highest organization (the 党总支), not with the 支部.
    assert found[units["sj"].pk].also == (units["sj_dz"].path,) and found[units["sj_b"].pk].also == ()
    assert [t.path for t in targets(Level.BRANCH)] == sorted(
        Organization.objects.filter(kind="branch").values_list("path", flat=True))


def test_unit_figures_include_the_party_group_against_a_walk_of_the_tree(units):
    # The 党组 has no secretary term and a branch has two full members: alerts on both sides.
    unit_targets = targets(Level.UNIT)
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    today = dt.date(YEAR + 1, 1, 10)
    values = metrics.compute("alerts_clear", unit_targets, start, end, {}, today)
    alerted = {a.org_id for a in structure_alerts(today=end)}
    walked = answered_by(units)
    assert set(walked) == {t.org_id for t in unit_targets}
    for target_id, orgs in walked.items():
        v = values[target_id]
        assert (v.numerator, v.denominator) == (len(orgs - alerted), len(orgs)), target_id
    assert values[units["cz"].pk].denominator == 4  # 机关党委, two branches and the 党组

    # The 党组书记's duty items count for the unit: a 党课 given by the secretary is one of them.
    acts.record_activity(None, units["cz1"], ["party_lecture"], dt.date(YEAR, 6, 20), topic="党课",
                         lecturer=units["secretary"],
                         attendance={m.pk: "present" for m in units["cz1"].people})
    duty = metrics.compute("duty_completion", unit_targets, start, end, {}, today)
    lines = list(completion.compute(YEAR, completion.holders(), today=today, everyone=True, ending=(start, end)))
    org_of_path = dict(Organization.objects.values_list("path", "pk"))
    for target_id, orgs in walked.items():
        mine = [ln for ln in lines if org_of_path[ln.holder.org_path] in orgs]
        done = sum(1 for ln in mine if ln.status in completion.COMPLETE)
        due = done + sum(1 for ln in mine if ln.status == completion.MISSED)
        assert (duty[target_id].numerator, duty[target_id].denominator) == (done, due), target_id
    party_group_lines = [ln for ln in lines if ln.holder.org_path == units["cz_dz"].path]
    assert party_group_lines and any(ln.status in completion.COMPLETE for ln in party_group_lines)


def test_the_party_group_secretary_is_an_expected_reporter(units):
    review = DutyReview.objects.create(org=units["wc"], year=YEAR, title=f"{YEAR}年度述职评议")
    expected = list(review_services.expected_orgs(review))
    assert units["cz_dz"] in expected and units["cz"] in expected and units["sj_dz"] in expected
    assert review_services.default_reporter(units["cz_dz"]) == units["secretary"]
    # A 党组 without seats entered: its unit's leading cadre whose 职务 names the office reports.
    head = factories.member(units["sj_b"], name="孙局长", is_leader=True, post="党组书记、局长")
    factories.member(units["sj_b"], name="周副局长", is_leader=True, post="党组成员、副局长")
    assert review_services.default_reporter(units["sj_dz"]) == head
    candidates = set(review_services.reporter_candidates(units["sj_dz"]).values_list("name", flat=True))
    assert candidates == {"孙局长", "周副局长"}  # the unit's leading cadres, not its ordinary members
    ordinary = units["sj_b"].people[1]
    text = "一、履行职责情况\n" + "本年度认真履行党建工作第一责任人职责，带头讲党课，研究部署党建工作。" * 8
    with pytest.raises(review_services.ReviewError) as err:
        review_services.submit_report(None, review, units["sj_dz"], ordinary, text=text)
    assert "不是市审计局党组的成员" in str(err.value)
    assert not review.reports.exists()
    report = review_services.submit_report(None, review, units["sj_dz"], head, text=text)
    assert (report.org, report.reporter) == (units["sj_dz"], head)


def test_a_party_group_report_takes_its_units_score_at_the_review(units):
    """The review's combined result: a 党组's report takes the score of the unit target that
    answers for it; a target everything was 不适用 for (no total) gives no assessment part."""
    from dangjian.assessment.models import Run, Scheme, TargetScore
    from dangjian.reviews import queries as review_queries

    scheme = Scheme.objects.create(code="U2025", name="2025 年度单位考核", year=YEAR, level="unit")
    run = Run.objects.create(scheme=scheme, period=str(YEAR), cycle="yearly", period_start=dt.date(YEAR, 1, 1),
                             period_end=dt.date(YEAR, 12, 31), target_count=2)
    TargetScore.objects.create(run=run, org=units["cz"], total=80, grade="good", place=1, breakdown=[])
    TargetScore.objects.create(run=run, org=units["jy"], total=None, grade="", place=None, breakdown=[])
    review = DutyReview.objects.create(org=units["wc"], year=YEAR, title=f"{YEAR}年度述职评议", run=run, vote_share=60)
    text = "一、履行职责情况\n" + "本年度认真履行党建工作第一责任人职责，带头讲党课，研究部署党建工作。" * 8
    jy_secretary = factories.member(units["jy"], name="孙书记")
    org_services.fill_seat(None, units["jy"], "secretary", jy_secretary, dt.date(2023, 1, 1))
    for org, who in ((units["cz_dz"], units["secretary"]), (units["jy"], jy_secretary)):
        review_services.submit_report(None, review, org, who, text=text)
    reports = list(DutyReport.objects.filter(review=review).select_related("org", "reporter"))
    rows = {row.report.org_id: row for row in review_queries.results(review, reports).rows}
    assert rows[units["cz_dz"].pk].assessment == 80.0
    assert rows[units["jy"].pk].assessment is None


def test_the_units_page_shows_who_answers_for_what(units):
    from tests.factories import login
    from tests.factories import page_text as text

    def panel_of(page: str, unit: str) -> str:
        """The panel's organizations and people, after its explaining paragraph."""
        panel = page[page.index(f"{unit}党建工作责任"):page.index('class="row g-3 mb-3 figures"')]
        return panel[panel.index("</p>"):]

    staff = factories.user("wc_admin", units["wc"], username="wcstaff")
    panel = panel_of(text(login(staff).get(f"/orgs/{units['cz'].pk}/")), "市财政局")
    assert panel.index("市财政局党组") < panel.index("市财政局机关党委")  # the 党组 first
    assert panel.index("赵书记") < panel.index("第一责任人，对本单位党建工作负总责")  # its secretary seat
    assert "钱书记" in panel and "负责谋划和统筹推进本单位机关党建工作" in panel  # the organ committee's
    # A unit officer of the organ committee does not see the 党组's people.
    officer = factories.user("unit_admin", units["cz"], username="czofficer")
    panel = panel_of(text(login(officer).get(f"/orgs/{units['cz'].pk}/")), "市财政局")
    assert "不在您的查看范围内" in panel and "赵书记" not in panel and "钱书记" in panel
    # A 党组 without seats entered: read from the unit's leading cadres, as the duty lists read it.
    factories.member(units["sj_b"], name="孙局长", is_leader=True, post="党组书记、局长")
    factories.member(units["sj_b"], name="周副局长", is_leader=True, post="副局长")
    panel = panel_of(text(login(staff).get(f"/orgs/{units['sj'].pk}/")), "市审计局")
    head, deputy = panel.index("孙局长"), panel.index("周副局长")
    assert panel.index("党组书记") < head < panel.index("第一责任人") < panel.index("班子成员") < deputy
    assert "（党组书记、局长）" in panel and "（副局长）" in panel
    # A unit with one organization under the working committee, and a branch, have no such panel.
    assert "党建工作责任" not in text(login(staff).get(f"/orgs/{units['jy'].pk}/"))
    assert "党建工作责任" not in text(login(staff).get(f"/orgs/{units['cz1'].pk}/"))
