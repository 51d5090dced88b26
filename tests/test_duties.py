"""Duty lists (责任清单): roles read from the tree, completion derived from records against a
naive reference on generated data, manual marking (shared facts marked once), the item
editor, scoping per persona, query counts that do not grow with people, the CLI, the
assessment metric and the demo."""
import datetime as dt
import io
import json
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dangjian.activities import services as acts
from dangjian.activities.models import Activity
from dangjian.assessment import metrics as assessment_metrics
from dangjian.core.models import AuditEntry
from dangjian.duties import catalog, completion, seed, services
from dangjian.duties.models import AdministrativeHead, DutyItem, DutyMark
from dangjian.members.models import Member
from dangjian.orgs import services as org_services
from dangjian.orgs.models import CommitteeSeat, Organization
from tests import factories
from tests.factories import TODAY, branch_with, login, record

YEAR = TODAY.year



def department(wc, name: str, code: str):
    """A department: its 党组 and its 机关党委 (with a secretary who belongs to it)."""
    unit = org_services.unit_named(name)
    lg = factories.org(wc, kind="leading_group", code=f"{code}-DZ", name=f"{name}党组", unit=unit)
    top = factories.org(wc, kind="organ_committee", code=f"{code}-JG", name=f"{name}机关党委", unit=unit)
    secretary = factories.member(top, name=f"{name}机关党委书记")
    org_services.fill_seat(None, top, "secretary", secretary, dt.date(2024, 3, 1))
    return lg, top, secretary


def lines_of(member, year=YEAR, today=TODAY):
    return {(ln.holder.role, ln.item.code, ln.period.label): ln
            for ln in completion.compute(year, completion.holders(member_ids=[member.pk]), today=today)}


# ---- who holds which role ----------------------------------------------------------------------

def test_roles_are_read_from_the_tree(tree):
    lg, top, ocs = department(tree["wc"], "市审计局", "SJ")
    b = branch_with(top, full=3, code="SJ01")
    factories.member(b, name="局长甲", is_leader=True, post="党组书记、局长", rank=120)
    deputy = factories.member(b, name="副局长乙", is_leader=True, post="副局长", rank=110)
    gb = factories.org(top, kind="general_branch", code="SJ-ZZ")
    gbs = factories.member(gb, name="总支书记丙")
    org_services.fill_seat(None, gb, "secretary", gbs, dt.date(2025, 4, 10))
    # A leading cadre of a unit without 党组 has no 班子成员 role; a vacated seat has no holder.
    lone = factories.org(tree["wc"], kind="organ_committee", code="LONE", unit=org_services.unit_named("无党组单位"))
    lone_branch = branch_with(lone, full=3, code="LONE01")
    factories.member(lone_branch, name="无党组领导", is_leader=True, post="主任")
    org_services.vacate_seat(None, lone_branch.seats.get(role="secretary"), dt.date(2025, 2, 1))

    found = {(h.name, h.role, h.org_id, h.via) for h in completion.holders()}
    assert ("局长甲", "party_group_secretary", lg.pk, "post") in found
    assert ("副局长乙", "leadership_member", lg.pk, "leader") in found
    assert (ocs.name, "organ_committee_secretary", top.pk, "seat") in found
    assert ("总支书记丙", "general_branch_secretary", gb.pk, "seat") in found
    assert (b.people[0].name, "branch_secretary", b.pk, "seat") in found
    assert not any(name == "无党组领导" for name, *_ in found)
    assert not any(org == lone_branch.pk for _, _, org, _ in found)
    assert next(h for h in completion.holders() if h.role == "general_branch_secretary").since == dt.date(2025, 4, 10)

    # A secretary seat on the 党组 wins over the 职务: the seat holder is 党组书记, the others
    # (the one whose 职务 says so included) are 班子成员. (The seat service seats only members
    # of the org itself; a 党组 has none, so the seat is written directly here.)
    CommitteeSeat.objects.create(org=lg, role="secretary", holder=deputy, held_since=dt.date(2025, 1, 5))
    found = {(h.name, h.role, h.via) for h in completion.holders()}
    assert ("副局长乙", "party_group_secretary", "seat") in found
    assert ("局长甲", "leadership_member", "leader") in found
    assert ("副局长乙", "leadership_member", "leader") not in found
    # Restricted to a subtree: the 党组's holders belong to the 党组, not to the 机关党委.
    under_top = {(h.name, h.role) for h in completion.holders(roots=[top.path])}
    assert (ocs.name, "organ_committee_secretary") in under_top
    assert not any(role in ("party_group_secretary", "leadership_member") for _, role in under_top)


# ---- a naive reference on generated data --------------------------------------------------------

SEAT_ROLES = {"leading_group": "party_group_secretary", "organ_committee": "organ_committee_secretary",
              "committee": "organ_committee_secretary", "general_branch": "general_branch_secretary",
              "branch": "branch_secretary"}


def _ref_periods(unit, year):
    n = {"month": 12, "quarter": 4, "half": 2, "year": 1}[unit]
    size = 12 // n
    out = []
    for i in range(n):
        start = dt.date(year, i * size + 1, 1)
        end = (dt.date(year + 1, 1, 1) if i == n - 1 else dt.date(year, (i + 1) * size + 1, 1)) - dt.timedelta(days=1)
        label = {"month": f"{year}-{i + 1:02d}", "quarter": f"{year}Q{i + 1}", "half": f"{year}H{i + 1}",
                 "year": str(year)}[unit]
        out.append((label, start, end))
    return out


def _ref_lecture(org_id):
    """(applies, holder, reason) of the secretary's 党课 at an org, read seat by seat."""
    seats = list(CommitteeSeat.objects.filter(org_id=org_id, is_active=True, role="secretary").order_by("id"))
    filled = [s for s in seats if s.holder_id is not None]
    if filled:
        return True, filled[0].holder_id, ""
    if seats:
        since = seats[0].vacant_since
        return False, None, f"书记职位{f'自 {since:%Y-%m-%d} 起' if since else ''}空缺，“书记讲党课”暂不适用"
    return False, None, "未设书记职位，“书记讲党课”不适用"


def _ref_holders():
    """(member or None, role, org, since, branch path, is leader) per holder, read row by row."""
    out = set()
    seats = [s for s in CommitteeSeat.objects.filter(is_active=True, role="secretary", holder__isnull=False)
             if s.holder.status == "active" and s.org.status == "active" and s.org.kind in SEAT_ROLES]

    def branch_of(m):
        return (m.org.parent if m.org.kind == "cell" else m.org).path

    for s in seats:
        out.add((s.holder_id, SEAT_ROLES[s.org.kind], s.org_id, s.held_since, branch_of(s.holder), s.holder.is_leader))
    for s in CommitteeSeat.objects.filter(is_active=True, role="discipline_officer", holder__isnull=False):
        if s.holder.status == "active" and s.org.status == "active" and s.org.kind != "leading_group":
            out.add((s.holder_id, "discipline_secretary", s.org_id, s.held_since, branch_of(s.holder),
                     s.holder.is_leader))
    for o in Organization.objects.filter(kind__in=["organ_committee", "committee"], status="active"):
        out.add((None, "organ_committee", o.pk, None, o.path, False))
    for m in Member.objects.filter(is_leader=True, status="active"):
        lgs = Organization.objects.filter(kind="leading_group", status="active", unit_id=m.org.unit_id,
                                          unit__isnull=False).order_by("path")
        if not lgs:
            continue
        lg = lgs[0]
        seated = {s.holder_id for s in seats if s.org_id == lg.pk}
        if seated:
            if m.pk not in seated:
                out.add((m.pk, "leadership_member", lg.pk, None, branch_of(m), True))
        elif "党组书记" in m.post:
            out.add((m.pk, "party_group_secretary", lg.pk, None, branch_of(m), True))
        else:
            out.add((m.pk, "leadership_member", lg.pk, None, branch_of(m), True))
    for head in AdministrativeHead.objects.filter(member__status="active"):
        org = (Organization.objects.filter(kind="leading_group", status="active", unit_id=head.unit_id)
               .order_by("path").first()
               or Organization.objects.filter(kind__in=["organ_committee", "committee"], status="active",
                                              unit_id=head.unit_id).order_by("path").first())
        if org is not None:
            out.add((head.member_id, "administrative_head", org.pk, head.since, branch_of(head.member),
                     head.member.is_leader))
    for m in Member.objects.filter(status="active"):
        branch = m.org.parent if m.org.kind == "cell" else m.org
        out.add((m.pk, "party_member", branch.pk, None, branch.path, m.is_leader))
    return out


def reference(year, today):
    """Per holder, per item, per period, with ORM queries and no shared state."""
    latest = {}
    for item in DutyItem.objects.order_by("from_year"):
        if item.from_year <= year and (item.to_year is None or item.to_year >= year):
            latest[item.code] = item
    out = set()
    for mid, role, org_id, since, branch_path, leader in _ref_holders():
        org = Organization.objects.get(pk=org_id)
        for item in latest.values():
            if item.role != role or (item.leaders_only and not leader):
                continue
            for label, start, end in _ref_periods(item.period, year):
                if since is not None and end < since:
                    continue
                if item.evidence == "manual":
                    if item.per == "unit" and org.unit_id:
                        subject = f"u{org.unit_id}"
                    else:
                        subject = f"m{mid}" if mid is not None else f"o{org_id}"
                    marked = DutyMark.objects.filter(fact=item.fact or item.code, subject=subject, period=label,
                                                     is_active=True).exists()
                    status, evidence = ("marked" if marked else "missed" if end < today else "open"), ()
                elif role in SEAT_ROLES.values() and item.relation == "lecturer" and not (
                        _ref_lecture(org_id)[0] and _ref_lecture(org_id)[1] == mid):
                    status, evidence = "not_applicable", ()
                else:
                    qs = Activity.objects.filter(status="active", held_on__gte=start, held_on__lte=end,
                                                 kinds__kind__in=item.kinds)
                    if item.where == "role_org":
                        qs = qs.filter(org=org)
                    elif item.where == "own_branch":
                        qs = qs.filter(org__path__startswith=branch_path)
                    if item.relation == "lecturer":
                        qs = qs.filter(lecturer_id=mid)
                    elif item.relation == "host":
                        qs = qs.filter(host_id=mid)
                    elif item.relation == "talk_party":
                        qs = qs.filter(Q(talk_party_a_id=mid) | Q(talk_party_b_id=mid))
                    elif item.relation in ("present", "attended"):
                        ok = ["present", "observer"] if item.relation == "attended" else ["present"]
                        qs = qs.filter(attendances__member_id=mid, attendances__status__in=ok)
                    evidence = tuple(sorted(set(qs.values_list("pk", flat=True))))
                    status = "done" if len(evidence) >= item.min_count else "missed" if end < today else "open"
                out.add((mid if mid is not None else -org_id, role, item.code, label, status, evidence))
    return out


def engine(year, today):
    out = set()
    for ln in completion.compute(year, completion.holders(members=True), today=today):
        evidence = tuple(sorted(r.activity_id for r in ln.evidence))
        who = ln.holder.member_id if ln.holder.member_id is not None else -ln.holder.org_id
        out.add((who, ln.holder.role, ln.item.code, ln.period.label, ln.status, evidence))
    return out


def generate(seed):
    rng = random.Random(seed)
    wc = factories.org(None, kind="working_committee", code="G-WC")
    everyone = []
    for d in range(2):
        lg, top, ocs = department(wc, f"测试局{d}", f"G{d}")
        gb = factories.org(top, kind="general_branch", code=f"G{d}-ZZ")
        gbs = factories.member(gb, name="总支书记")
        org_services.fill_seat(None, gb, "secretary", gbs, dt.date(2025, 4, 10))
        branches = [branch_with(rng.choice([top, gb]), full=rng.randint(3, 6), code=f"G{d}-B{i}") for i in range(3)]
        cell = factories.org(branches[0], kind="cell", code=f"G{d}-CELL")
        head = factories.member(branches[0], name="局长", is_leader=True, post="党组书记、局长", rank=120)
        deputies = [factories.member(rng.choice(branches), name=f"副局长{i}", is_leader=True, post="副局长", rank=110)
                    for i in range(2)]
        in_cell = factories.member(cell, name="党组成员", is_leader=True, post="党组成员", rank=110)
        leaders = [head, *deputies, in_cell]
        if d == 1:  # the 党组's secretary from a seat: the head becomes a 班子成员
            CommitteeSeat.objects.create(org=lg, role="secretary", holder=deputies[0], held_since=dt.date(2024, 1, 1))
        # the unit's administrative head (a deputy in one, the head in the other); a 纪检委员 on a branch
        services.name_administrative_head(None, lg.unit, deputies[1] if d == 0 else head, dt.date(2025, 3, 1),
                                          today=TODAY)
        org_services.fill_seat(None, branches[2], "discipline_officer", branches[2].people[2], dt.date(2024, 5, 1))
        # a branch secretary replaced mid-year answers from the day they took the seat
        moved = branches[1]
        org_services.fill_seat(None, moved, "secretary", moved.people[1], dt.date(2025, 6, 1))
        people_of = {b.pk: b.people + [m for m in leaders if m.org_id == b.pk] for b in branches}
        people_of[branches[0].pk] += [in_cell]
        for b in branches:
            people = people_of[b.pk]
            for month in range(1, 9):
                for _ in range(rng.choice([0, 1, 1, 2])):
                    day = dt.date(2025, month, rng.randint(1, 28))
                    if day > TODAY:
                        continue
                    kinds = rng.choice([["theme_day"], ["theme_day", "general_meeting", "party_lecture"],
                                        ["org_life_meeting", "member_appraisal"], ["general_meeting"],
                                        ["party_lecture"], ["committee_meeting"]])
                    att = {m.pk: rng.choice(["present", "present", "absent", ("excused", "出差")]) for m in people}
                    if rng.random() < 0.5:  # a leader of the department sits in on another branch's meeting
                        att[rng.choice(leaders).pk] = "observer"
                    lecturer = rng.choice([None, b.people[0], head, ocs, gbs, *deputies]) \
                        if "party_lecture" in kinds else None
                    a = record(b, kinds, day, topic=f"第{rng.randint(1, 10 ** 6)}次", attendance=att,
                               lecturer=lecturer, host=rng.choice([None, b.people[0], moved.people[1]]))
                    if rng.random() < 0.08:
                        acts.withdraw_activity(None, a, "录入有误")
            for _ in range(rng.randint(0, 2)):
                pair = rng.sample(people, 2) if rng.random() < 0.7 else [b.people[0], rng.choice(leaders)]
                record(b, ["talk"], dt.date(2025, rng.randint(1, 8), rng.randint(1, 14)), talk_parties=pair)
        record(cell, ["org_life_meeting"], dt.date(2025, 3, 9), attendance={in_cell.pk: "present"})
        record(gb, ["talk"], dt.date(2025, 5, 6), talk_parties=[gbs, branches[0].people[0]])
        if rng.random() < 0.8:
            record(lg, ["democratic_life_meeting"], dt.date(2025, 2, rng.randint(1, 20)),
                   attendance={m.pk: "present" for m in leaders} | {ocs.pk: "observer"})
        # present, but not at their own branch: counts for no own-branch item
        record(lg, ["party_lecture"], dt.date(2025, rng.randint(1, 7), 3), lecturer=rng.choice(leaders),
               attendance={m.pk: "present" for m in leaders})
        record(top, ["org_life_meeting", "theme_day"], dt.date(2025, rng.randint(1, 7), 4),
               attendance={m.pk: "present" for m in leaders if m.org.path.startswith(top.path)})
        record(top, ["organ_member_assembly"], dt.date(2025, rng.randint(1, 8), 2))
        record(top, ["committee_meeting"], dt.date(2025, 4, 5))
        record(branches[2], ["warning_education"], dt.date(2025, 4, 8))
        everyone.append((lg, top, ocs, gbs, branches, leaders))
    # items of every relation (host, attended, a count of 2, monthly) beside the defaults
    services.add_item(None, "branch_secretary", 2000, title="每月主持召开支部委员会", period="month", min_count=1,
                      evidence="derived", kinds=["committee_meeting"], where="role_org", relation="host",
                      source="支部工作条例 第十四条")
    services.add_item(None, "organ_committee_secretary", 2000, title="列席本单位领导班子民主生活会", period="year",
                      min_count=1, evidence="derived", kinds=["democratic_life_meeting"], where="any",
                      relation="attended", source="机关基层组织工作条例 第二十六条第三项")
    services.add_item(None, "leadership_member", 2000, title="每半年两次参加党课", period="half", min_count=2,
                      evidence="derived", kinds=["party_lecture"], where="own_branch", relation="present",
                      source="测试")
    # manual marks, some shared by the unit
    for _lg, _top, ocs, _gbs, branches, _leaders in everyone:
        for label in ("2025H1", "2025H2"):
            if rng.random() < 0.6:
                services.mark_done(None, ocs, "ocs_report", label, dt.date(2025, 6 if label.endswith("1") else 8, 3),
                                   "党组会议听取汇报", today=TODAY)
        if rng.random() < 0.7:
            services.mark_done(None, branches[2].people[0], "bs_training", "2025", dt.date(2025, 4, 2), "参加轮训",
                               today=TODAY)
        if rng.random() < 0.7:  # the 机关党委's own item, marked by its secretary
            services.mark_done(None, ocs, "oc_hear_branches", "2025", dt.date(2025, 3, 2), "述职评议会",
                               today=TODAY)
        if rng.random() < 0.7:
            services.mark_done(None, branches[2].people[2], "ds_report", "2025", dt.date(2025, 5, 2), "报告监督情况",
                               today=TODAY)


@pytest.mark.parametrize("seed", [1, 2])
def test_completion_matches_reference_implementation(db, seed):
    generate(seed)
    seen = set()
    for today in (TODAY, dt.date(2026, 1, 10)):
        ours, expected = engine(2025, today), reference(2025, today)
        assert ours == expected, (sorted(ours - expected)[:5], sorted(expected - ours)[:5])
        seen |= ours
    # the generated data exercises every status, every role and every relation
    assert {row[4] for row in seen} == {"done", "marked", "open", "missed", "not_applicable"}
    assert {row[1] for row in seen} == set(catalog.roles())
    used = {row[2] for row in seen if row[5]}
    assert {i.relation for i in DutyItem.objects.filter(code__in=used)} >= {"org", "lecturer", "host", "present",
                                                                            "attended", "talk_party"}


# ---- manual marking ------------------------------------------------------------------------------

@pytest.fixture
def dept(tree):
    """市审计局: 党组 (its 书记 named by 职务), 机关党委, one branch with two leading cadres."""
    lg, top, ocs = department(tree["wc"], "市审计局", "SJ")
    b = branch_with(top, full=3, code="SJ01")
    head = factories.member(b, name="局长甲", is_leader=True, post="党组书记、局长", rank=120)
    deputy = factories.member(b, name="副局长乙", is_leader=True, post="副局长", rank=110)
    return {"lg": lg, "top": top, "ocs": ocs, "branch": b, "head": head, "deputy": deputy}


def test_a_shared_fact_is_marked_once_for_both_lists(dept):
    head, ocs = dept["head"], dept["ocs"]
    user = factories.user(member=head)
    mark = services.mark_done(user, head, "pgs_hear_report", "2025H1", dt.date(2025, 6, 20),
                              "  6月20日党组会议听取机关党委上半年工作汇报  ", today=TODAY)
    assert mark.subject == f"u{dept['lg'].unit_id}" and mark.note == "6月20日党组会议听取机关党委上半年工作汇报"
    heard = lines_of(head)[("party_group_secretary", "pgs_hear_report", "2025H1")]
    reported = lines_of(ocs)[("organ_committee_secretary", "ocs_report", "2025H1")]
    assert heard.status == reported.status == "marked" and reported.mark.note == mark.note and reported.mark.shared
    assert reported.mark.marked_by == "局长甲"  # the person who marked it, not their login
    assert lines_of(ocs)[("organ_committee_secretary", "ocs_report", "2025H2")].status == "open"
    # the other side cannot report it a second time
    with pytest.raises(services.DutyError, match="已标记完成"):
        services.mark_done(None, ocs, "ocs_report", "2025H1", dt.date(2025, 6, 21), "向党组汇报", today=TODAY)
    # withdrawn: gone from both lists; marked again: the same row, the history keeps all of it
    services.withdraw_mark(user, head, "pgs_hear_report", "2025H1", "日期记错", today=TODAY)
    assert lines_of(ocs)[("organ_committee_secretary", "ocs_report", "2025H1")].status == "missed"
    again = services.mark_done(None, ocs, "ocs_report", "2025H1", dt.date(2025, 6, 18), "6月18日向党组汇报",
                               today=TODAY)
    assert again.pk == mark.pk and DutyMark.objects.count() == 1
    assert lines_of(head)[("party_group_secretary", "pgs_hear_report", "2025H1")].mark.note == "6月18日向党组汇报"
    notes = list(AuditEntry.objects.filter(table="duties.dutymark", object_id=mark.pk).values_list("note", flat=True))
    assert len(notes) == 3 and any("撤销标记" in n for n in notes)
    # a person's own item is theirs alone
    services.mark_done(None, dept["deputy"], "lm_liaison", "2025", dt.date(2025, 5, 6), "到联系点调研", today=TODAY)
    assert lines_of(dept["deputy"])[("leadership_member", "lm_liaison", "2025")].status == "marked"
    assert DutyMark.objects.get(fact="lm_liaison").subject == f"m{dept['deputy'].pk}"


@pytest.mark.parametrize("who, item, period, done_on, note, field, text", [
    ("head", "pgs_lecture", "2025", dt.date(2025, 3, 1), "讲了党课", "item", "自动反映"),
    ("head", "nope", "2025", dt.date(2025, 3, 1), "x", "item", "没有这一项"),
    ("deputy", "pgs_pledge", "2025", dt.date(2025, 3, 1), "x", "item", "不担任党组书记"),
    ("head", "pgs_pledge", "2025H1", dt.date(2025, 3, 1), "x", "period", "不是它的周期"),
    ("head", "pgs_pledge", "2025Q9", dt.date(2025, 3, 1), "x", "period", "不是有效的周期"),
    ("head", "pgs_hear_report", "2026H1", dt.date(2026, 3, 1), "x", "period", "还没有开始"),
    ("head", "pgs_hear_report", "2025H2", dt.date(2025, 8, 20), "x", "done_on", "将来的日期"),
    ("head", "pgs_hear_report", "2025H1", dt.date(2025, 7, 2), "x", "done_on", "之内"),
    ("head", "pgs_hear_report", "2025H1", None, "x", "done_on", "请填写完成日期"),
    ("head", "pgs_hear_report", "2025H1", dt.date(2025, 5, 2), "   ", "note", "做了什么"),
    ("head", "pgs_hear_report", "2025H1", dt.date(2025, 5, 2), "长" * 201, "note", "200"),
])
def test_bad_marks_name_the_field_and_write_nothing(dept, who, item, period, done_on, note, field, text):
    with pytest.raises(services.DutyError, match=text) as e:
        services.mark_done(None, dept[who], item, period, done_on, note, today=TODAY)
    assert e.value.field == field
    assert not DutyMark.objects.exists() and not AuditEntry.objects.filter(table="duties.dutymark").exists()


def test_marking_on_the_page(dept, personas):
    head = dept["head"]
    me = login(factories.user(member=head))
    url = f"/duties/member/{head.pk}/?year={YEAR}"
    page = me.get(url).content.decode()
    assert "党组书记" in page and "第一责任人" in page and "据职务“党组书记、局长”" in page
    r = me.post(url, {"action": "mark", "item": "pgs_pledge", "period": str(YEAR), "done_on": "2025-02-30",
                      "note": "作出公开承诺"})
    assert r.status_code == 200 and "完成日期不是有效的日期" in r.content.decode()
    r = me.post(url, {"action": "mark", "item": "pgs_pledge", "period": str(YEAR), "done_on": "2024-12-30",
                      "note": "作出公开承诺"})
    assert "应在2025年（2025-01-01 至 2025-12-31）之内" in r.content.decode() and not DutyMark.objects.exists()
    # the clock of the page is today's, so mark a past year's period
    r = me.post(url, {"action": "mark", "item": "pgs_pledge", "period": str(YEAR), "done_on": "2025-02-10",
                      "note": "在全市机关党建工作会议上作出公开承诺"})
    assert r.status_code == 302
    page = me.get(url).content.decode()
    # the confirmation names the item and the period in words, not the period's code
    pledge = factories.latest_duty_item("pgs_pledge").title
    assert f"已标记完成：{pledge}（2025年）" in page
    assert "在全市机关党建工作会议上作出公开承诺" in page and "标记记录" in page
    # read-only and other departments' people may not mark; neither does a derived item take marks
    for user, status in ((personas["leader"], 200), (personas["unit_admin_b"], 404)):
        r = login(user).post(url, {"action": "withdraw", "item": "pgs_pledge", "period": str(YEAR), "reason": "x"})
        assert r.status_code == status
        if status == 200:
            assert "只有本人或本组织的党务干部可以标记" in r.content.decode()
    assert DutyMark.objects.get().is_active
    r = me.post(url, {"action": "mark", "item": "pgs_lecture", "period": str(YEAR), "done_on": "2025-02-10",
                      "note": "讲党课"})
    assert "自动反映" in r.content.decode() and DutyMark.objects.count() == 1
    # 工委 staff may mark for anyone
    staff = login(personas["wc_admin"])
    r = staff.post(url, {"action": "withdraw", "item": "pgs_pledge", "period": str(YEAR), "reason": "承诺未公示"})
    assert r.status_code == 302 and not DutyMark.objects.get().is_active
    assert f"已撤销标记：{pledge}（2025年）" in staff.get(url).content.decode()


# ---- derived evidence on the page ------------------------------------------------------------------

def test_my_list_shows_evidence_from_records(dept, personas):
    b, head = dept["branch"], dept["head"]
    secretary = b.people[0]
    lecture = record(b, ["party_lecture", "theme_day"], dt.date(2025, 3, 12), topic="学习党章",
                     lecturer=secretary, attendance={m.pk: "present" for m in b.people})
    life = record(b, ["org_life_meeting"], dt.date(2025, 1, 20), topic="年度组织生活会",
                  attendance={head.pk: "present", dept["deputy"].pk: "absent"})
    got = lines_of(secretary)
    assert got[("branch_secretary", "bs_lecture", "2025")].status == "done"
    assert [r.activity_id for r in got[("branch_secretary", "bs_lecture", "2025")].evidence] == [lecture.pk]
    assert got[("branch_secretary", "bs_org_life", "2025")].status == "done"
    assert got[("branch_secretary", "bs_general_meeting", "2025Q1")].status == "missed"
    assert got[("branch_secretary", "bs_general_meeting", "2025Q3")].status == "open"
    assert lines_of(head)[("party_group_secretary", "pgs_dual_org_life", "2025")].status == "done"
    assert lines_of(dept["deputy"])[("leadership_member", "lm_dual_org_life", "2025")].status == "open"
    page = login(factories.user(member=secretary)).get(f"/duties/?year={YEAR}").content.decode()
    assert "我的责任清单" in page and f'href="/activities/{lecture.pk}/"' not in page  # a plain member: no scope
    assert "学习党章" in page
    page = login(personas["wc_admin"]).get(f"/duties/member/{head.pk}/?year={YEAR}").content.decode()
    assert f'href="/activities/{life.pk}/"' in page
    # a record withdrawn no longer counts
    acts.withdraw_activity(None, lecture, "录入有误")
    assert lines_of(secretary)[("branch_secretary", "bs_lecture", "2025")].status == "open"


# ---- scoping per persona ------------------------------------------------------------------------

@pytest.fixture
def world(tree, personas):
    """Branch secretaries of 财政局 (CZ01: 李明) and 教育局 (JY01: 王芳); a 党组 of the whole
    test unit with a leading cadre in CZ01."""
    day = dt.date(2024, 5, 1)
    org_services.fill_seat(None, tree["a1"], "secretary", tree["ma"], day)
    org_services.fill_seat(None, tree["b1"], "secretary", tree["mb"], day)
    lg = factories.org(tree["wc"], kind="leading_group", code="CZ-DZ", name="财政局党组")
    leader = factories.member(tree["a1"], name="诸葛青云", is_leader=True, post="党组书记、局长", rank=120)
    return {"lg": lg, "leader": leader, **tree}


def test_pages_per_persona(world, personas):
    a, b, a1, ma, mb, lg = world["a"], world["b"], world["a1"], world["ma"], world["mb"], world["lg"]
    year = f"?year={YEAR}"
    expect = {
        # persona: {url: status}
        "wc_admin": {"/duties/overview/": 200, f"/duties/org/{a.pk}/": 200, f"/duties/member/{mb.pk}/": 200,
                     "/duties/items/edit/?role=branch_secretary": 200, f"/duties/member/{world['leader'].pk}/": 200},
        "leader": {"/duties/overview/": 200, f"/duties/member/{ma.pk}/": 200, "/duties/items/edit/?item=1": 404},
        "unit_admin_a": {"/duties/overview/": 200, f"/duties/org/{a.pk}/": 200, f"/duties/org/{b.pk}/": 404,
                         f"/duties/member/{ma.pk}/": 200, f"/duties/member/{mb.pk}/": 404,
                         f"/duties/org/{lg.pk}/": 404, "/duties/items/edit/?role=branch_secretary": 404},
        "unit_admin_b": {f"/duties/member/{ma.pk}/": 404, f"/duties/org/{a1.pk}/": 404,
                         f"/duties/member/{world['leader'].pk}/": 404},
        "secretary_a1": {f"/duties/org/{a1.pk}/": 200, f"/duties/member/{mb.pk}/": 404, "/duties/items/": 200},
        "member_a": {"/duties/": 200, f"/duties/member/{ma.pk}/": 200, f"/duties/member/{mb.pk}/": 404,
                     "/duties/overview/": 404, f"/duties/org/{a1.pk}/": 404, "/duties/items/": 200,
                     "/duties/items/edit/": 404},
    }
    for persona, urls in expect.items():
        c = login(personas[persona])
        for url, status in urls.items():
            r = c.get(url + (year if "?" not in url else ""))
            assert r.status_code == status, (persona, url, r.status_code)
    # what each overview lists: its own subtree's holders only, never the other department's
    page = login(personas["unit_admin_a"]).get(f"/duties/overview/{year}&role=branch_secretary").content.decode()
    assert "李明" in page and "王芳" not in page
    page = login(personas["wc_admin"]).get(f"/duties/overview/{year}&role=branch_secretary").content.decode()
    assert "李明" in page and "王芳" in page
    page = login(personas["wc_admin"]).get(f"/duties/overview/{year}&role=party_group_secretary").content.decode()
    assert "诸葛青云" in page and "财政局党组" in page
    # the member's own list: their branch secretary role; someone else's leader role stays hidden from unitb
    page = login(personas["member_a"]).get(f"/duties/{year}").content.decode()
    assert "支部书记" in page and "每年至少为支部党员讲一次党课" in page
    # an overview never ranks people: no per-person score or total
    page = login(personas["wc_admin"]).get(f"/duties/overview/{year}&role=branch_secretary").content.decode()
    assert "得分" not in page and "排名" not in page.replace("不排名", "")


def test_no_member_and_bad_parameters_answer_in_chinese(world, personas):
    c = login(personas["unit_admin_a"])
    page = c.get("/duties/").content.decode()
    assert "没有关联党员信息" in page
    page = c.get("/duties/overview/?year=20x5&role=nope&page=abc").content.decode()
    assert "年度“20x5”格式不正确" in page
    page = c.get("/duties/overview/?year=1800").content.decode()
    assert "超出范围" in page
    r = login(personas["member_a"]).post("/duties/", {"action": "explode", "item": "bs_lecture", "period": "2025"})
    assert r.status_code == 200 and "请选择要执行的操作" in r.content.decode()
    r = login(personas["member_a"]).post("/duties/", {"action": "mark", "item": "x" * 80, "period": "2025"})
    assert r.status_code == 200 and "这一项不在本页的责任清单中" in r.content.decode()


# ---- query counts ------------------------------------------------------------------------------------

def _grow(parent, n, start):
    for i in range(start, start + n):
        b = branch_with(parent, full=3, code=f"QC{i:03d}")
        factories.member(b, name=f"领导{i}", is_leader=True, post="副局长", rank=110)
        record(b, ["party_lecture", "general_meeting"], dt.date(2025, 2, 3), lecturer=b.people[0],
               attendance={m.pk: "present" for m in b.people})
        record(b, ["org_life_meeting"], dt.date(2025, 3, 3), attendance={m.pk: "present" for m in b.people})
        record(b, ["talk"], dt.date(2025, 4, 3), talk_parties=b.people[:2])
        services.mark_done(None, b.people[0], "bs_training", "2025", dt.date(2025, 4, 5), "参加轮训", today=TODAY)
        org_services.fill_seat(None, b, "discipline_officer", b.people[2], dt.date(2025, 1, 2))
        record(b, ["committee_meeting"], dt.date(2025, 5, 3), attendance={m.pk: "present" for m in b.people})


def test_query_counts_do_not_grow_with_people(dept, personas):
    top = dept["top"]
    admin = login(personas["wc_admin"])
    urls = [f"/duties/org/{top.pk}/?year={YEAR}&role=branch_secretary",
            f"/duties/org/{dept['lg'].pk}/?year={YEAR}&role=leadership_member",
            f"/duties/member/{dept['head'].pk}/?year={YEAR}",
            # the new lists: the 党员 list counted per branch, the 机关党委's own, the 纪检委员's,
            # a member's own page (their 党员 list)
            f"/duties/org/{top.pk}/?year={YEAR}&role=party_member",
            f"/duties/org/{top.pk}/?year={YEAR}&role=organ_committee",
            f"/duties/org/{top.pk}/?year={YEAR}&role=discipline_secretary",
            f"/duties/member/{dept['branch'].people[1].pk}/?year={YEAR}",
            f"/duties/member/{dept['ocs'].pk}/?year={YEAR}"]

    def counts():
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert admin.get(url).status_code == 200
            out.append(len(ctx))
        with CaptureQueriesContext(connection) as ctx:
            lines = completion.compute(YEAR, completion.holders(members=True), today=TODAY)
        return out, len(ctx), lines

    _grow(top, 3, 0)
    small, engine_small, few = counts()
    _grow(top, 25, 3)
    large, engine_large, many = counts()
    assert len(many) > 4 * len(few)
    # items, 党组s, 机关党委s, seats, leading cadres, 行政负责人, members, the secretaries' seats for
    # their 党课, one query per kind of evidence in use (lectures, talks, attendance, records of the
    # role's org) and the marks
    assert large == small and engine_large == engine_small <= 14
    assert sum(1 for ln in many if ln.status == "done") >= 28 * 4


# ---- CLI ------------------------------------------------------------------------------------------------

def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_cli_json_shape(dept):
    b = dept["branch"]
    lecture = record(b, ["party_lecture"], dt.date(2025, 5, 6), lecturer=b.people[0])
    services.mark_done(None, b.people[0], "bs_training", "2025", dt.date(2025, 4, 5), "参加轮训", today=TODAY)
    rows = json.loads(run("duties", "--year", "2025", "--org", "SJ01", "--format", "json", "--today", "2025-08-15"))
    keys = ["member_id", "member_name", "role", "org_code", "org_name", "item", "title", "period", "required", "done",
            "status", "evidence", "note"]
    assert rows and all(list(r) == keys for r in rows)
    assert {(r["member_name"], r["role"], r["org_code"]) for r in rows} == {(b.people[0].name, "branch_secretary",
                                                                             "SJ01")}
    by = {(r["item"], r["period"]): r for r in rows}
    assert by[("bs_lecture", "2025")] | {} == {
        "member_id": b.people[0].pk, "member_name": b.people[0].name, "role": "branch_secretary", "org_code": "SJ01",
        "org_name": b.name, "item": "bs_lecture", "title": "每年至少为支部党员讲一次党课", "period": "2025",
        "required": 1, "done": 1, "status": "done", "evidence": [lecture.pk], "note": ""}
    assert by[("bs_training", "2025")]["status"] == "marked" and by[("bs_training", "2025")]["note"] == "参加轮训"
    assert [by[("bs_general_meeting", f"2025Q{q}")]["status"] for q in range(1, 5)] == ["missed", "missed", "open",
                                                                                      "open"]
    everything = json.loads(run("duties", "--year", "2025", "--format", "json", "--today", "2025-08-15"))
    assert {"party_group_secretary", "leadership_member", "organ_committee_secretary", "branch_secretary"} <= {
        r["role"] for r in everything}
    text = run("duties", "--year", "2025", "--org", "SJ-JG", "--today", "2025-08-15")
    assert b.people[0].name in text and "已标记完成" in text and "共 " in text


@pytest.mark.parametrize("args, text", [
    (["--year", "20x5"], "四位年份"),
    (["--year", "1999"], "四位年份"),
    (["--year", "2025", "--org", "NOPE"], "不存在"),
    (["--year", "2025", "--today", "2025/1/1"], "YYYY-MM-DD"),
])
def test_cli_bad_input_exits_2_in_chinese(tree, args, text):
    with pytest.raises(CommandError, match=text) as e:
        call_command("duties", *args, "--format", "json", stdout=io.StringIO())
    assert e.value.returncode == 2


# ---- the assessment metric --------------------------------------------------------------------------

def test_duty_completion_metric_against_the_lines(dept, tree):
    b = dept["branch"]
    record(b, ["party_lecture", "general_meeting"], dt.date(2025, 2, 6), lecturer=b.people[0])
    services.mark_done(None, dept["ocs"], "ocs_report", "2025H1", dt.date(2025, 5, 6), "汇报", today=TODAY)
    assert "duty_completion" in assessment_metrics.REGISTRY
    targets = [assessment_metrics.Target(o.pk, o.code, o.name, o.path) for o in (dept["top"], dept["lg"], tree["wc"],
                                                                                 tree["b"])]
    every = completion.compute(2025, completion.holders(), today=TODAY)
    for start, end in [(dt.date(2025, 3, 1), dt.date(2025, 3, 31)), (dt.date(2025, 4, 1), dt.date(2025, 4, 30)),
                       (dt.date(2025, 1, 1), dt.date(2025, 6, 30))]:
        got = assessment_metrics.compute("duty_completion", targets, start, end, {}, TODAY)
        lines = [ln for ln in every if start <= ln.period.end <= end]
        for t in targets:
            mine = [ln for ln in lines if ln.holder.org_path.startswith(t.path)]
            done = sum(1 for ln in mine if ln.status in ("done", "marked"))
            due = done + sum(1 for ln in mine if ln.status == "missed")
            v = got[t.org_id]
            assert (v.numerator, v.denominator) == (done, due)
            assert v.ratio == (done / due if due else None)
    assert got[tree["wc"].pk].denominator > assessment_metrics.compute(
        "duty_completion", targets, dt.date(2025, 3, 1), dt.date(2025, 3, 31), {}, TODAY)[tree["wc"].pk].denominator
    values = got
    assert values[dept["top"].pk].numerator >= 2  # the branch's Q1 meeting and the shared H1 report
    assert values[dept["lg"].pk].numerator == 1  # the same report, on the 党组's list
    # Nobody holds a role there, but the 机关党委 holds its own list: two quarterly committee
    # meetings fell due in the half year, and none was held.
    assert (values[tree["b"].pk].numerator, values[tree["b"].pk].denominator) == (0, 2)


# ---- the item editor --------------------------------------------------------------------------------

def _item(code):
    return DutyItem.objects.filter(code=code).order_by("-from_year").first()


def test_items_are_seeded_once_and_staff_edits_win(db):
    specs = seed.item_specs()
    assert DutyItem.objects.count() == len(specs) and len(specs) >= 20
    assert {s["role"] for s in specs} == set(catalog.roles())
    assert all(s["source"] for s in specs)
    item = _item("bs_lecture")
    services.change_item(None, item, 2000, title="每年至少为支部党员讲两次党课", min_count=2, today=TODAY)
    assert seed.seed_items() == 0
    assert _item("bs_lecture").min_count == 2 and DutyItem.objects.count() == len(specs)


def test_a_change_is_a_new_version_and_past_years_keep_the_old(dept, personas):
    b = dept["branch"]
    record(b, ["party_lecture"], dt.date(2024, 5, 6), lecturer=b.people[0], today=TODAY)
    record(b, ["party_lecture"], dt.date(2025, 5, 6), lecturer=b.people[0], today=TODAY)
    admin = login(personas["wc_admin"])
    item = _item("bs_lecture")
    form = {"action": "save", "item": item.pk, "title": "每年至少为支部党员讲两次党课", "period": "year", "min_count": "2",
            "evidence": "derived", "kinds": ["party_lecture"], "where": "any", "relation": "lecturer",
            "per": "person", "fact": "", "source": item.source, "confirmed": "on", "note": "", "year": "2025"}
    r = admin.post("/duties/items/edit/", form)
    assert r.status_code == 302, r.content.decode()
    versions = list(DutyItem.objects.filter(code="bs_lecture").order_by("from_year"))
    assert [(v.from_year, v.to_year, v.min_count) for v in versions] == [(2000, 2024, 1), (2025, None, 2)]
    assert lines_of(b.people[0], 2024)[("branch_secretary", "bs_lecture", "2024")].status == "done"
    assert lines_of(b.people[0], 2025)[("branch_secretary", "bs_lecture", "2025")].status == "open"
    page = admin.get(f"/duties/items/edit/?item={versions[1].pk}").content.decode()
    assert "条目调整：自 2025 年起执行" in page and "2000 年起至 2024 年" in page
    page = admin.get("/duties/items/?year=2024").content.decode()
    assert "每年至少为支部党员讲一次党课" in page
    # the old version cannot be changed any more
    r = admin.post("/duties/items/edit/", {**form, "item": versions[0].pk, "title": "旧的"})
    assert "已有更新的版本" in r.content.decode()
    # retire it after 2025: 2026 has no such item
    r = admin.post("/duties/items/edit/", {"action": "retire", "item": versions[1].pk, "last_year": "2025"})
    assert r.status_code == 302
    assert "bs_lecture" not in {i.code for i in completion.items_for_year(2026)}
    assert "bs_lecture" in {i.code for i in completion.items_for_year(2025)}


@pytest.mark.parametrize("overrides, text", [
    ({"title": "每天打卡学习"}, "打卡"),
    ({"title": "上传活动照片"}, "照片"),
    ({"title": ""}, "请填写责任内容"),
    ({"min_count": "0"}, "不能小于 1"),
    ({"min_count": "abc"}, "应为整数"),
    ({"evidence": "manual", "min_count": "2"}, "次数应为 1"),
    ({"kinds": []}, "请至少选择一种组织生活类型"),
    ({"kinds": ["theme_day"]}, "只适用于党课"),
    ({"relation": "org"}, "只能用于本职务所在组织"),
    ({"where": "role_org", "relation": "org", "kinds": ["central_study"]}, "党支部不开展“理论学习中心组学习”"),
    ({"kinds": ["talk"], "relation": "present"}, "谈心谈话只记录谈话双方"),
    ({"source": " "}, "请填写依据"),
    ({"year": "2062"}, "不能晚于"),
    ({"evidence": "manual", "fact": "Bad Code"}, "所选的共用事项不存在或已停用，请重新选择"),
    ({"period": "week"}, "周期不在可选范围内"),
])
def test_bad_items_are_refused_in_chinese_and_nothing_is_written(db, overrides, text):
    staff_wc = factories.org(None, kind="working_committee", code="WC")
    admin = login(factories.user("wc_admin", staff_wc))
    form = {"action": "save", "role": "branch_secretary", "title": "每年至少讲一次党课", "period": "year",
            "min_count": "1", "evidence": "derived", "kinds": ["party_lecture"], "where": "any",
            "relation": "lecturer", "per": "person", "fact": "", "source": "支部工作条例", "note": "", "year": "2025"}
    form.update(overrides)
    before = DutyItem.objects.count()
    r = admin.post("/duties/items/edit/", form)
    assert r.status_code == 200 and text in r.content.decode()
    assert DutyItem.objects.count() == before and not AuditEntry.objects.filter(table="duties.dutyitem").exists()


def test_staff_add_an_item_to_a_role(dept, personas):
    admin = login(personas["wc_admin"])
    r = admin.post("/duties/items/edit/", {
        "action": "save", "role": "leadership_member", "title": "每年参加一次警示教育", "period": "year", "min_count": "1",
        "evidence": "derived", "kinds": ["warning_education"], "where": "any", "relation": "present", "per": "person",
        "source": "测试依据", "year": "2025"})
    assert r.status_code == 302
    item = DutyItem.objects.get(title="每年参加一次警示教育")
    assert item.code.startswith("lm_") and item.from_year == 2025
    assert ("leadership_member", item.code, "2025") in lines_of(dept["deputy"])
    assert AuditEntry.objects.filter(table="duties.dutyitem", object_id=item.pk).exists()


# ---- the demo -----------------------------------------------------------------------------------------

def test_demo_build_names_secretaries_and_marks_manual_items(db):
    # `dangjian demo` builds the duty lists' part too (duties.demo.build with its own today).
    call_command("demo", "--members", "300", "--seed", "5", "--today", TODAY.isoformat(), stdout=io.StringIO(),
                 verbosity=0)
    from dangjian.duties import demo

    named = Member.objects.filter(post__startswith="党组书记、")
    assert 0 < named.count() <= Organization.objects.filter(kind="leading_group").count()
    assert DutyMark.objects.exists()
    roles = {h.role for h in completion.holders()}
    assert {"party_group_secretary", "leadership_member", "branch_secretary"} <= roles
    lines = completion.compute(2025, completion.holders(), today=TODAY)
    assert {"done", "marked", "open", "missed"} <= {ln.status for ln in lines}
    assert all(ln.mark.done_on <= TODAY for ln in lines if ln.mark)
    # again: nothing changes
    marks = DutyMark.objects.count()
    again = demo.build(TODAY, seed=3)
    assert again["party_group_secretaries_named"] == 0 and again["marks"] == 0
    assert DutyMark.objects.count() == marks
    assert Member.objects.filter(post__startswith="党组书记、党组书记").count() == 0


def test_a_units_shared_mark_stays_off_other_role_holders_pages(dept):
    """The 党组 and the 机关党委 share a mark; a branch secretary of the same unit does not see
    it in their page's history."""
    head = dept["head"]
    head_user = factories.user(member=head)
    services.mark_done(head_user, head, "pgs_hear_report", "2025H1", dt.date(2025, 6, 20),
                       "6月20日党组会议听取机关党委上半年工作汇报", today=TODAY)
    title = DutyItem.objects.filter(code="pgs_hear_report").values_list("title", flat=True).first()
    secretary = dept["branch"].people[0]
    client = Client()
    client.force_login(factories.user("branch_secretary", dept["branch"], member=secretary))
    page = client.get("/duties/?year=2025").content.decode()
    assert "支部书记" in page and title not in page
    client.force_login(head_user)
    assert title in client.get("/duties/?year=2025").content.decode()


def test_overview_cells_are_the_markup_the_template_loop_wrote():
    """`{% duty_cells %}` writes in Python what the overview row's loop wrote: the same bytes for
    items with several periods, with none, and with values that need escaping."""
    from django.template import Context, Template

    loop = Template(
        "{% for cells in row.cells %}\n    <td class=\"small text-nowrap\">{% for c in cells %}"
        "<span class=\"badge {{ c.badge }} me-1\" title=\"{{ c.label }}：{{ c.status_label }}\" "
        "data-period=\"{{ c.period }}\" data-status=\"{{ c.status }}\">{{ c.label }}</span>"
        "{% empty %}<span class=\"text-muted\">—</span>{% endfor %}</td>\n    {% endfor %}")
    tag = Template("{% load duty_cells %}{% duty_cells row.cells %}")
    cell = {"period": "2026Q1", "label": "一季度", "status": "done", "status_label": "已完成",
            "badge": "text-bg-success"}
    odd = {"period": "2026", "label": "<全年> & \"年度\"", "status": "missed", "status_label": "未完成'",
           "badge": "text-bg-danger"}
    row = {"cells": [[cell, odd], [], [odd]]}
    expected = loop.render(Context({"row": row}))
    assert tag.render(Context({"row": row})) == expected
    assert "&lt;全年&gt; &amp; &quot;年度&quot;" in expected and expected.count("<td") == 3
