"""The eight duty lists: each seeded with its sources, a holder found for each on a test tree,
the party member's items derived from attendance against a reference that walks the records,
one answer for the secretary's 党课 on the duty list and in the compliance rule, the pages
with every list, and the demo."""
import datetime as dt
import random

import pytest

from dangjian.activities import compliance
from dangjian.activities.models import Activity, Attendance
from dangjian.duties import catalog, completion, queries, seed, services
from dangjian.duties.models import DUTY_LISTS, ROLE_LABELS, AdministrativeHead, DutyItem
from dangjian.members.models import Member
from dangjian.orgs import services as org_services
from dangjian.orgs.models import CommitteeSeat
from tests import factories
from tests.factories import TODAY, branch_with, login, record
from tests.factories import visible_text as visible

YEAR = 2025
LATE = dt.date(2026, 1, 10)  # every period of 2025 is over


def department(wc, name: str, code: str):
    unit = org_services.unit_named(name)
    lg = factories.org(wc, kind="leading_group", code=f"{code}-DZ", name=f"{name}党组", unit=unit)
    top = factories.org(wc, kind="organ_committee", code=f"{code}-JG", name=f"{name}机关党委", unit=unit)
    secretary = factories.member(top, name=f"{name}机关党委书记")
    org_services.fill_seat(None, top, "secretary", secretary, dt.date(2024, 3, 1))
    return lg, top, secretary


@pytest.fixture
def dept(tree):
    """市统计局: 党组 (its 书记 named by 职务), 机关党委, a branch with a committee and two leading
    cadres, a cell; the 副局长 named as the unit's 行政负责人."""
    lg, top, ocs = department(tree["wc"], "市统计局", "TJ")
    b = branch_with(top, full=5, committee=True, code="TJ01")
    org_services.fill_seat(None, b, "discipline_officer", b.people[3], dt.date(2024, 6, 1))
    cell = factories.org(b, kind="cell", code="TJ01-1")
    in_cell = [factories.member(cell, name=f"小组{i}") for i in range(2)]
    head = factories.member(b, name="局长甲", is_leader=True, post="党组书记、局长", rank=120)
    deputy = factories.member(b, name="副局长乙", is_leader=True, post="副局长", rank=110)
    services.name_administrative_head(None, lg.unit, deputy, dt.date(2024, 1, 1), today=TODAY)
    return {"lg": lg, "top": top, "ocs": ocs, "branch": b, "cell": cell, "in_cell": in_cell, "head": head,
            "deputy": deputy}


# ---- the lists and their items -------------------------------------------------------------------

def test_eight_lists_are_seeded_with_their_sources(db):
    assert len(DUTY_LISTS) == 8
    assert sorted(code for _, codes in DUTY_LISTS for code in codes) == sorted(ROLE_LABELS)
    assert [label for label, _ in DUTY_LISTS] == ["党组书记", "班子成员", "行政负责人", "机关党委书记",
                                                   "机关纪委书记/纪检委员", "总支/支部书记", "机关党委", "党员"]
    items = list(DutyItem.objects.filter(to_year__isnull=True))  # seeded after migrate
    specs = catalog.roles()
    for code in ROLE_LABELS:
        mine = [i for i in items if i.role == code]
        assert len(mine) >= 3, code
        for i in mine:
            assert "《" in i.source and "》" in i.source, i.code
            assert i.from_year == seed.SEED_FROM_YEAR
        assert specs[code]["label"] and specs[code]["responsibility"] and "《" in specs[code]["source"], code
    # derived where records exist: the member's organizational life, the body's meetings
    member_items = {i.code: i for i in items if i.role == "party_member"}
    assert all(not i.is_manual for i in member_items.values())
    assert member_items["pm_dual_org_life"].leaders_only
    assert not any("党费" in i.title for i in member_items.values())
    assert any(not i.is_manual and i.relation == "org" for i in items if i.role == "organ_committee")
    assert any(i.is_manual for i in items if i.role == "organ_committee")


def test_a_new_version_keeps_leaders_only(dept):
    item = DutyItem.objects.get(code="pm_dual_org_life")
    new = services.change_item(None, item, TODAY.year, title="党员领导干部参加所在党支部组织生活", today=TODAY)
    assert new.pk != item.pk and new.leaders_only


# ---- holders ---------------------------------------------------------------------------------------

def test_every_list_has_its_holders_on_the_tree(dept, tree):
    gb = factories.org(dept["top"], kind="general_branch", code="TJ-ZZ")
    gbs = factories.member(gb, name="总支书记丙")
    org_services.fill_seat(None, gb, "secretary", gbs, dt.date(2025, 4, 10))
    found = completion.holders(members=True)
    by_role = {}
    for h in found:
        by_role.setdefault(h.role, set()).add((h.member_id, h.org_id, h.via))
    assert set(by_role) == set(ROLE_LABELS)
    d = dept
    assert (d["head"].pk, d["lg"].pk, "post") in by_role["party_group_secretary"]
    assert (d["deputy"].pk, d["lg"].pk, "leader") in by_role["leadership_member"]
    assert (d["deputy"].pk, d["lg"].pk, "head") in by_role["administrative_head"]
    assert (d["ocs"].pk, d["top"].pk, "seat") in by_role["organ_committee_secretary"]
    assert (d["branch"].people[3].pk, d["branch"].pk, "seat") in by_role["discipline_secretary"]
    assert (d["branch"].people[0].pk, d["branch"].pk, "seat") in by_role["branch_secretary"]
    assert (gbs.pk, gb.pk, "seat") in by_role["general_branch_secretary"]
    # the 机关党委 holds its own list: every active organ committee of the tree
    bodies = {org for _, org, _ in by_role["organ_committee"]}
    assert bodies == {d["top"].pk, tree["a"].pk, tree["b"].pk}
    assert all(mid is None for mid, _, _ in by_role["organ_committee"])
    # every active member is on the 党员 list, a cell's members with their branch
    members = {mid: org for mid, org, _ in by_role["party_member"]}
    assert set(members) == set(Member.objects.filter(status="active").values_list("pk", flat=True))
    assert members[d["in_cell"][0].pk] == d["branch"].pk
    # the 党员 list is asked for only where wanted: the metric and the role overview do without it
    assert not any(h.role == "party_member" for h in completion.holders())
    # a person's roles: the secretary of the 机关党委 brings the body's list with theirs
    ocs_roles = {h.role for h in completion.holders(member_ids=[d["ocs"].pk], members=True)}
    assert ocs_roles == {"organ_committee_secretary", "organ_committee", "party_member"}


def test_the_administrative_head_is_named_in_chinese_and_audited(dept, tree):
    d = dept
    with pytest.raises(services.DutyError, match="所在党组织不属于市统计局"):
        services.name_administrative_head(None, d["lg"].unit, tree["ma"], today=TODAY)
    with pytest.raises(services.DutyError, match="不能是将来的日期"):
        services.name_administrative_head(None, d["lg"].unit, d["head"], TODAY + dt.timedelta(days=3), today=TODAY)
    assert AdministrativeHead.objects.get(unit=d["lg"].unit).member_id == d["deputy"].pk
    services.name_administrative_head(None, d["lg"].unit, d["head"], dt.date(2025, 2, 1), today=TODAY)
    heads = [h for h in completion.holders() if h.role == "administrative_head"]
    assert [(h.member_id, h.since) for h in heads] == [(d["head"].pk, dt.date(2025, 2, 1))]
    from dangjian.core.models import AuditEntry
    assert AuditEntry.objects.filter(table="duties.administrativehead").count() == 2


# ---- the party member's items from attendance -------------------------------------------------------

def _walked(member, item, year, today):
    """Per period label: the ids of the records that show the item done for the member, found by
    walking every attendance row in Python (no filtering query)."""
    branch = member.org.parent if member.org.kind == "cell" else member.org
    n = {"quarter": 4, "half": 2, "year": 1}[item.period]
    out = {}
    for i in range(n):
        label = {"quarter": f"{year}Q{i + 1}", "half": f"{year}H{i + 1}", "year": str(year)}[item.period]
        out[label] = set()
    for att in Attendance.objects.select_related("activity__org").all():
        a = att.activity
        if att.member_id != member.pk or att.status != "present" or a.status != "active":
            continue
        if a.held_on.year != year or not a.org.path.startswith(branch.path):
            continue
        if not set(item.kinds) & set(a.kinds.filter(is_active=True).values_list("kind", flat=True)):
            continue
        index = (a.held_on.month - 1) // (12 // n)
        label = list(out)[index]
        out[label].add(a.pk)
    result = {}
    for label, ids in out.items():
        last_month = {"quarter": 3, "half": 6, "year": 12}[item.period] * (list(out).index(label) + 1)
        end = dt.date(year + 1, 1, 1) if last_month == 12 else dt.date(year, last_month + 1, 1)
        over = end - dt.timedelta(days=1) < today
        result[label] = ("done" if ids else "missed" if over else "open", tuple(sorted(ids)))
    return result


def _random_life(d, rng):
    """A year of organizational life in the branch, its cell and a neighbouring branch, with
    presence, absence, sitting in and withdrawn records; the branch's people."""
    b, cell = d["branch"], d["cell"]
    people = list(Member.objects.filter(org__path__startswith=b.path, status="active").select_related("org"))
    other = branch_with(d["top"], full=3, code="TJ02")
    for _ in range(24):
        org = rng.choice([b, b, cell, other])
        if org.kind == "cell":
            kinds = rng.choice([["cell_meeting"], ["theme_day", "party_lecture"], ["org_life_meeting"]])
        else:
            kinds = rng.choice([["general_meeting"], ["theme_day", "party_lecture"], ["org_life_meeting"],
                                ["committee_meeting"], ["party_lecture"]])
        day = dt.date(YEAR, rng.randint(1, 12), rng.randint(1, 28))
        if day > TODAY:
            day = dt.date(YEAR, rng.randint(1, 6), rng.randint(1, 28))
        # the org's own members present or absent; anyone else may sit in (列席), which counts for nothing
        att = {m.pk: rng.choice(["present", "present", "absent"]) if m.org.path.startswith(org.path)
               else "observer" for m in people if m.org.path.startswith(org.path) or rng.random() < 0.3}
        a = record(org, kinds, day, attendance=att, topic=f"第{rng.randint(1, 10 ** 6)}次")
        if rng.random() < 0.1:
            from dangjian.activities import services as acts
            acts.withdraw_activity(None, a, "录入有误")
    return people


@pytest.mark.parametrize("seed", [3, 4])
def test_member_items_match_the_records_walked_one_by_one(dept, seed):
    rng = random.Random(seed)
    people = _random_life(dept, rng)
    today = rng.choice([LATE, TODAY])
    items = [i for i in completion.items_for_year(YEAR) if i.role == "party_member"]
    lines = completion.compute(YEAR, completion.member_holders(member_ids=[m.pk for m in people]), items=items,
                               today=today)
    got = {(ln.holder.member_id, ln.item.code, ln.period.label): (ln.status, tuple(sorted(r.activity_id
                                                                                        for r in ln.evidence)))
           for ln in lines}
    expected = {}
    for m in people:
        for item in items:
            if item.leaders_only and not m.is_leader:
                continue
            for label, value in _walked(m, item, YEAR, today).items():
                expected[(m.pk, item.code, label)] = value
    assert got == expected
    assert {v[0] for v in got.values()} >= {"done"}
    assert Activity.objects.filter(status="active").count() > 5


@pytest.mark.parametrize("seed", [5, 6])
def test_member_counts_per_branch_are_the_lines_counted(dept, seed):
    """The overview's counts come from the database grouped per branch; counting the lines of
    every member gives the same figures."""
    rng = random.Random(seed)
    _random_life(dept, rng)
    roots = [dept["top"].path]
    for today in (TODAY, LATE):
        fast = queries._member_overview(roots, YEAR, "", today)
        slow = queries._member_overview_by_lines(roots, YEAR, "", today)

        def shape(data):
            rows = [(r["org_id"], r["members"], [(c.code, c.done, c.missed, c.open) for c in r["cells"]])
                    for r in data["rows"]]
            return rows, [(s.item.code, s.done, s.missed, s.open) for s in data["summaries"]]

        assert shape(fast) == shape(slow)
        assert sum(s.done for s in fast["summaries"]) > 0
    # a filter on the branch's name or code
    assert [r["org_code"] for r in queries._member_overview(roots, YEAR, "TJ02", TODAY)["rows"]] == ["TJ02"]


# ---- one answer per duty: the secretary's 党课 -------------------------------------------------------

def _lecture_verdicts(org):
    out = {}
    for v in compliance.compute(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31), org_ids=[org.pk], today=LATE):
        if v.rule.code == "party_lecture_by_secretary":
            out[v.period.label] = v
    return out


def _lecture_line(member, code="pgs_lecture"):
    return next(ln for ln in completion.compute(YEAR, completion.holders(member_ids=[member.pk]), today=LATE)
                if ln.item.code == code)


def test_one_answer_for_the_secretarys_lecture(dept, personas):
    d = dept
    record(d["branch"], ["party_lecture"], dt.date(YEAR, 5, 6), lecturer=d["head"])
    # no secretary seat on the 党组: the compliance rule does not apply, nor does the duty line
    verdict = _lecture_verdicts(d["lg"])[str(YEAR)]
    line = _lecture_line(d["head"])
    assert verdict.status == compliance.NOT_APPLICABLE and line.status == completion.NOT_APPLICABLE
    assert line.reason == verdict.reason == "未设书记职位，“书记讲党课”不适用"
    assert line.evidence == []
    # a vacant seat: both say vacant, the same way
    seat = CommitteeSeat.objects.create(org=d["lg"], role="secretary", holder=None, vacant_since=dt.date(2025, 3, 1))
    verdict, line = _lecture_verdicts(d["lg"])[str(YEAR)], _lecture_line(d["head"])
    assert verdict.status == line.status == "not_applicable"
    assert line.reason == verdict.reason == "书记职位自 2025-03-01 起空缺，“书记讲党课”暂不适用"
    # the seat filled: both ask its holder, and count the same lecture
    seat.holder, seat.held_since = d["head"], dt.date(2025, 4, 1)
    seat.save()
    verdict, line = _lecture_verdicts(d["lg"])[str(YEAR)], _lecture_line(d["head"])
    assert verdict.status == "met" and line.status == "done"
    assert verdict.evidence == [r.activity_id for r in line.evidence]
    assert verdict.reason == line.reason == ""
    # the page shows the reason beside the line
    seat.holder, seat.vacant_since = None, dt.date(2025, 9, 1)
    seat.save()
    page = visible(login(personas["wc_admin"]).get(f"/duties/member/{d['head'].pk}/?year={YEAR}").content.decode())
    assert "不适用" in page and "书记职位自 2025-09-01 起空缺，“书记讲党课”暂不适用" in page


def test_the_judgement_is_one_function(dept):
    """Both engines read compliance.secretary_lecture: a branch whose secretary was replaced by a
    vacancy says so on the compliance side; the duty list has no branch secretary to ask."""
    b = dept["branch"]
    org_services.vacate_seat(None, b.seats.get(role="secretary"), dt.date(2025, 7, 1))
    verdict = _lecture_verdicts(b)[str(YEAR)]
    judged = compliance.secretary_lecture(compliance.secretary_seats(org_ids=[b.pk]).get(b.pk))
    assert verdict.reason == judged.reason and judged.state == compliance.VACANT
    assert not any(h.role == "branch_secretary" and h.org_id == b.pk for h in completion.holders())


# ---- pages -----------------------------------------------------------------------------------------

def test_pages_show_every_list(dept, personas):
    d = dept
    admin = login(personas["wc_admin"])
    items = visible(admin.get(f"/duties/items/?year={YEAR}").content.decode())
    for label, _ in DUTY_LISTS:
        assert label in items
    page = admin.get(f"/duties/org/{d['top'].pk}/?year={YEAR}&role=party_member").content.decode()
    text = visible(page)
    for label in ROLE_LABELS.values():
        assert label in text
    assert "各党支部党员完成情况" in text and d["branch"].name in text
    assert d["in_cell"][0].name not in text  # counted per branch, no row per member
    body = visible(admin.get(f"/duties/org/{d['top'].pk}/?year={YEAR}&role=organ_committee").content.decode())
    assert d["top"].name in body and "每季度至少召开一次委员会会议" in body
    # a member's own page: their 党员 list
    member = d["in_cell"][1]
    client = login(factories.user(member=member))
    mine = visible(client.get(f"/duties/?year={YEAR}").content.decode())
    assert "党员" in mine and "每季度至少参加一次所在党支部（党小组）的组织生活" in mine
    assert "党员领导干部以普通党员身份" not in mine  # leaders only
    lead = visible(login(factories.user(member=d["deputy"])).get(f"/duties/?year={YEAR}").content.decode())
    assert "党员领导干部以普通党员身份" in lead and "行政负责人" in lead and "一岗双责" in lead
    # the 机关党委's own list on its secretary's page, marked there
    c = login(factories.user(member=d["ocs"]))
    r = c.post(f"/duties/?year={YEAR}", {"action": "mark", "item": "oc_annual_plan", "period": str(YEAR),
                                         "done_on": "2025-02-10", "note": "制定年度工作计划，报党组审定"})
    assert r.status_code == 302
    ocs_page = visible(c.get(f"/duties/?year={YEAR}").content.decode())
    assert "机关党委" in ocs_page and "制定年度工作计划，报党组审定" in ocs_page
    line = next(ln for ln in completion.compute(YEAR, completion.holders(), today=TODAY)
                if ln.item.code == "oc_annual_plan" and ln.holder.org_id == d["top"].pk)
    assert line.status == "marked"


def test_the_member_overview_counts_per_branch_against_the_lines(dept, personas):
    d = dept
    b = d["branch"]
    people = list(Member.objects.filter(org__path__startswith=b.path, status="active"))
    record(b, ["general_meeting"], dt.date(YEAR, 2, 3), attendance={m.pk: "present" for m in people[:4]})
    record(d["cell"], ["cell_meeting"], dt.date(YEAR, 5, 3), attendance={m.pk: "present" for m in d["in_cell"]})
    data = queries.overview([d["top"]], YEAR, "party_member", "", LATE)
    rows = {r["org_code"]: r for r in data["rows"]}
    assert set(rows) == {b.code, d["top"].code}  # the secretary of the 机关党委 belongs to it
    row = rows[b.code]
    assert row["members"] == len(people)
    cells = {c.code: c for c in row["cells"]}
    q = cells["pm_org_life"]
    # 4 present in Q1, the cell's 2 in Q2: 6 done of 4 quarters × the branch's members
    assert (q.done, q.due, q.open) == (6, 4 * len(people), 0)
    leaders = sum(1 for m in people if m.is_leader)
    assert cells["pm_dual_org_life"].due == leaders


# ---- the demo --------------------------------------------------------------------------------------

def test_demo_builds_every_list(db):
    import io

    from django.core.management import call_command

    from dangjian.duties import demo
    from dangjian.duties.models import DutyMark

    call_command("demo", "--members", "300", "--seed", "6", "--today", TODAY.isoformat(), stdout=io.StringIO(),
                 verbosity=0)
    assert AdministrativeHead.objects.exists()
    found = completion.holders(members=True)
    # a city of 300 has no 党总支; every other list has its holders
    assert {h.role for h in found} >= set(ROLE_LABELS) - {"general_branch_secretary"}
    marked = set(DutyMark.objects.values_list("item_code", flat=True))
    assert {"ah_plan_together", "ds_report", "oc_annual_plan", "oc_hear_branches"} <= marked
    lines = completion.compute(TODAY.year, [h for h in found if h.role == "party_member"][:200], today=TODAY)
    assert any(ln.status == "done" for ln in lines)
    again = demo.build(TODAY, seed=3)
    assert again["administrative_heads_named"] == 0 and again["marks"] == 0


def test_staff_name_the_administrative_head_on_a_page(dept, personas, tree):
    d = dept
    admin = login(personas["wc_admin"])
    page = admin.get("/duties/heads/?q=统计")
    text = visible(page.content.decode())
    assert "市统计局" in text and "副局长乙" in text
    unit = d["lg"].unit
    r = admin.post("/duties/heads/?q=统计", {"unit": unit.pk, "member": d["head"].pk, "since": "2025-02-01"})
    assert r.status_code == 302
    head = AdministrativeHead.objects.get(unit=unit)
    assert (head.member_id, head.since) == (d["head"].pk, dt.date(2025, 2, 1))
    # bad input: Chinese, beside the unit, nothing written
    for data, text in [({"unit": unit.pk, "member": tree["ma"].pk}, "所在党组织不属于市统计局"),
                       ({"unit": unit.pk, "member": d["deputy"].pk, "since": "2025-13-01"}, "不是有效的日期"),
                       ({"unit": unit.pk, "member": ""}, "请选择行政负责人")]:
        r = admin.post("/duties/heads/?q=统计", data)
        assert r.status_code == 200 and text in r.content.decode()
    assert AdministrativeHead.objects.get(unit=unit).member_id == d["head"].pk
    # staff only
    assert login(personas["unit_admin_b"]).get("/duties/heads/").status_code == 404


def test_heads_page_queries_do_not_grow_with_units(tree, personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = login(personas["wc_admin"])

    def grow(start, n):
        for i in range(start, start + n):
            lg, top, ocs = department(tree["wc"], f"测试单位{i:02d}", f"U{i:02d}")
            b = branch_with(top, full=3, code=f"U{i:02d}01")
            factories.member(b, name=f"领导{i}", is_leader=True, post="局长", rank=120)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin.get("/duties/heads/").status_code == 200
        return len(ctx)

    grow(0, 2)
    small = count()
    grow(2, 8)
    assert count() == small


def test_cli_lists_members_and_says_why_a_line_does_not_apply(dept):
    import io
    import json

    from django.core.management import call_command

    d = dept
    out = io.StringIO()
    call_command("duties", "--year", str(YEAR), "--org", d["top"].code, "--format", "json", "--today",
                 LATE.isoformat(), stdout=out)
    rows = json.loads(out.getvalue())
    assert {r["role"] for r in rows} >= {"organ_committee", "discipline_secretary", "organ_committee_secretary"}
    assert not any(r["role"] == "party_member" for r in rows)
    out = io.StringIO()
    call_command("duties", "--year", str(YEAR), "--org", d["branch"].code, "--members", "--format", "json",
                 "--today", LATE.isoformat(), stdout=out)
    rows = json.loads(out.getvalue())
    members = {r["member_id"] for r in rows if r["role"] == "party_member"}
    assert members == set(Member.objects.filter(org__path__startswith=d["branch"].path, status="active")
                          .values_list("pk", flat=True))
    out = io.StringIO()
    call_command("duties", "--year", str(YEAR), "--org", d["lg"].code, "--format", "json", "--today",
                 LATE.isoformat(), stdout=out)
    lecture = next(r for r in json.loads(out.getvalue()) if r["item"] == "pgs_lecture")
    assert (lecture["status"], lecture["note"]) == ("not_applicable", "未设书记职位，“书记讲党课”不适用")
