"""The compliance engine: rule edge cases, a naive reference implementation on generated data,
the CLI's output and the engine's query count."""
import calendar
import datetime as dt
import io
import json
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.activities import compliance
from dangjian.activities import services as acts
from dangjian.activities.models import Activity, ActivityRule, ComplianceRow
from dangjian.members.models import Member
from dangjian.orgs import services as org_services
from dangjian.orgs.models import Organization
from tests import factories
from tests.factories import TODAY, branch_with, everyone, record

YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def verdicts(org, start, end, today=TODAY, **kw):
    return {(v.rule.code, v.period.label): v for v in compliance.compute(start, end, org=org, today=today, **kw)
            if v.org_id == org.pk}


# ---- rule edge cases --------------------------------------------------------------------------

def test_period_boundary_march_31_and_april_1(tree):
    b = branch_with(tree["a"], full=3)
    last = record(b, ["theme_day"], dt.date(2025, 3, 31))
    first = record(b, ["theme_day"], dt.date(2025, 4, 1))
    v = verdicts(b, *YEAR)
    assert v[("theme_day", "2025-03")].evidence == [last.pk]
    assert v[("theme_day", "2025-04")].evidence == [first.pk]
    assert v[("theme_day", "2025-02")].status == "missing" and v[("theme_day", "2025-02")].shortfall == 1
    assert v[("theme_day", "2025-08")].status == "due"  # August is still running on 08-15
    assert v[("theme_day", "2025-12")].status == "due"
    q = verdicts(b, dt.date(2025, 3, 31), dt.date(2025, 3, 31))
    assert set(q) >= {("theme_day", "2025-03"), ("general_meeting", "2025Q1"), ("org_life_meeting", "2025")}
    assert ("theme_day", "2025-04") not in q and ("general_meeting", "2025Q2") not in q


def test_one_record_counts_for_several_kinds(tree):
    b = branch_with(tree["a"], full=4)
    a = record(b, ["theme_day", "general_meeting", "party_lecture"], dt.date(2025, 2, 20), attendance=everyone(b))
    v = verdicts(b, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    for key in [("theme_day", "2025-02"), ("general_meeting", "2025Q1"), ("party_lecture", "2025Q1")]:
        assert v[key].status == "met" and v[key].evidence == [a.pk] and v[key].held == 1
    assert v[("theme_day", "2025-01")].status == "missing"


def test_quorum_failed_meeting_does_not_count(tree):
    b = branch_with(tree["a"], full=4)
    p = b.people
    half = record(b, ["general_meeting", "theme_day"], dt.date(2025, 2, 5),
                  attendance={p[0].pk: "present", p[1].pk: "present", p[2].pk: "absent", p[3].pk: ("excused", "病假")})
    v = verdicts(b, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    # two of four is not more than half: the 党员大会 fails, the 主题党日 still counts
    gm = v[("general_meeting", "2025Q1")]
    assert (gm.status, gm.held, gm.evidence, gm.failed_quorum) == ("missing", 0, [], [half.pk])
    assert v[("theme_day", "2025-02")].evidence == [half.pk]
    three = record(b, ["general_meeting"], dt.date(2025, 3, 5),
                   attendance={p[0].pk: "present", p[1].pk: "present", p[2].pk: "present"})
    gm = verdicts(b, dt.date(2025, 1, 1), dt.date(2025, 3, 31))[("general_meeting", "2025Q1")]
    assert (gm.status, gm.evidence, gm.failed_quorum) == ("met", [three.pk], [half.pk])


def test_committee_quorum_and_applicability(tree):
    small = branch_with(tree["a"], full=4)
    big = branch_with(tree["a"], full=7, committee=True)
    p = big.people
    failed = record(big, ["committee_meeting"], dt.date(2025, 1, 9), attendance={p[0].pk: "present"})
    ok = record(big, ["committee_meeting"], dt.date(2025, 2, 9), attendance={p[0].pk: "present", p[1].pk: "present"})
    vb = verdicts(big, dt.date(2025, 1, 1), dt.date(2025, 2, 28))
    assert vb[("committee_meeting", "2025-01")].status == "missing"
    assert vb[("committee_meeting", "2025-01")].failed_quorum == [failed.pk]
    assert vb[("committee_meeting", "2025-02")].evidence == [ok.pk]
    vs = verdicts(small, dt.date(2025, 1, 1), dt.date(2025, 2, 28))
    row = vs[("committee_meeting", "2025-01")]
    assert (row.status, row.required, row.shortfall) == ("not_applicable", 0, 0)


def test_exempt_members_do_not_break_the_quorum(tree):
    b = branch_with(tree["a"], full=4, exempt=2)
    p = b.people  # p[2], p[3] exempt (old and frail): not expected at the meeting
    a = record(b, ["general_meeting"], dt.date(2025, 5, 8),
               attendance={p[0].pk: "present", p[1].pk: "present", p[2].pk: "absent", p[3].pk: "absent"})
    assert verdicts(b, dt.date(2025, 4, 1), dt.date(2025, 6, 30))[("general_meeting", "2025Q2")].evidence == [a.pk]
    Member.objects.filter(pk__in=[p[2].pk, p[3].pk]).update(is_exempt=False)
    other = branch_with(tree["a"], full=4)
    q = other.people
    b2 = record(other, ["general_meeting"], dt.date(2025, 5, 8),
                attendance={q[0].pk: "present", q[1].pk: "present", q[2].pk: "absent", q[3].pk: "absent"})
    v = verdicts(other, dt.date(2025, 4, 1), dt.date(2025, 6, 30))[("general_meeting", "2025Q2")]
    assert v.failed_quorum == [b2.pk] and v.status == "missing"


def test_rule_changing_mid_year(tree):
    b = branch_with(tree["a"], full=3)
    rule = ActivityRule.objects.get(code="party_lecture")
    acts.change_rule(None, rule, dt.date(2025, 7, 1), period="month")
    march = record(b, ["party_lecture"], dt.date(2025, 3, 3))
    july = record(b, ["party_lecture"], dt.date(2025, 7, 3))
    v = verdicts(b, *YEAR)
    lecture = sorted(k[1] for k in v if k[0] == "party_lecture")
    assert lecture == ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2025Q1", "2025Q2"]
    assert v[("party_lecture", "2025Q1")].evidence == [march.pk]
    assert v[("party_lecture", "2025Q2")].status == "missing"
    assert v[("party_lecture", "2025-07")].evidence == [july.pk]
    assert v[("party_lecture", "2025-08")].status == "due"


def test_dissolved_org(tree):
    b = factories.org(tree["a"], kind="branch")
    jan = record(b, ["theme_day"], dt.date(2025, 1, 10))
    org_services.dissolve_org(None, b, dt.date(2025, 5, 10))
    b.refresh_from_db()
    v = verdicts(b, *YEAR)
    assert v[("theme_day", "2025-01")].evidence == [jan.pk]
    assert v[("theme_day", "2025-03")].status == "missing"
    assert v[("theme_day", "2025-05")].status == "not_applicable"  # dissolved during May
    assert v[("general_meeting", "2025Q2")].status == "not_applicable"
    assert not any(k[1] in ("2025-06", "2025Q3") for k in v)


def test_lecture_by_secretary(tree):
    b = branch_with(tree["a"], full=3)
    sec, other = b.people[0], b.people[1]
    record(b, ["party_lecture"], dt.date(2025, 3, 3), lecturer=other)
    v = verdicts(b, *YEAR, today=dt.date(2026, 1, 5))
    assert v[("party_lecture_by_secretary", "2025")].status == "missing"
    # the branch secretary lecturing in another branch still counts for their own
    elsewhere = branch_with(tree["a"], full=3)
    a = record(elsewhere, ["party_lecture"], dt.date(2025, 6, 3), lecturer=sec)
    v = verdicts(b, *YEAR, today=dt.date(2026, 1, 5))
    assert v[("party_lecture_by_secretary", "2025")].evidence == [a.pk]
    findings = compliance.member_findings(2025, org=tree["a"], today=dt.date(2026, 1, 5))
    lecture = {(f["member_id"], f["status"]) for f in findings if f["check"] == "secretary_lecture"}
    assert (elsewhere.people[0].pk, "missing") in lecture and sec.pk not in {m for m, _ in lecture}


def test_one_org_reads_only_its_own_seats(tree):
    """Judging one org reads that org's committee seats, not a row per seat of the whole tree;
    the verdicts are those of the whole tree's computation."""
    branches = [branch_with(tree["a"], full=3, committee=True) for _ in range(4)]
    b = branches[0]
    record(b, ["party_lecture"], dt.date(2025, 3, 3), lecturer=b.people[0])
    with CaptureQueriesContext(connection) as ctx:
        one = compliance.compute(*YEAR, org_ids=[b.pk], today=dt.date(2026, 1, 5))
    seat_queries = [q["sql"] for q in ctx.captured_queries if "orgs_committeeseat" in q["sql"]]
    assert seat_queries
    with connection.cursor() as cursor:
        for sql in seat_queries:
            cursor.execute(sql)
            assert len(cursor.fetchall()) <= 1, sql  # the branch's own secretary (or committee) only
    everyone_ = [v for v in compliance.compute(*YEAR, today=dt.date(2026, 1, 5)) if v.org_id == b.pk]
    assert [(v.rule.code, v.period.label, v.status, v.evidence) for v in one] == \
        [(v.rule.code, v.period.label, v.status, v.evidence) for v in everyone_]
    assert any(v.rule.code == "party_lecture_by_secretary" and v.status == "met" for v in one)


def test_member_findings_lapse_leaders_exempt(tree):
    b = branch_with(tree["a"], full=4, exempt=1)
    p = b.people
    leader = factories.member(b, name="领导", is_leader=True)
    for month in range(1, 7):
        record(b, ["theme_day"], dt.date(2025, month, 3),
               attendance={p[0].pk: "present", p[1].pk: "absent", p[2].pk: "absent", p[3].pk: "absent",
                           leader.pk: "present"})
        if month == 3:  # p2 asked for leave once: not without reason
            record(b, ["party_lecture"], dt.date(2025, 3, 20), attendance={p[2].pk: ("excused", "住院")})
    record(b, ["org_life_meeting"], dt.date(2025, 6, 20), attendance={p[0].pk: "present", leader.pk: "absent"})
    found = compliance.member_findings(2025, org=b, today=dt.date(2025, 7, 1), lapse_months=6)
    lapse = {f["member_id"] for f in found if f["check"] == "lapse"}
    assert lapse == {p[1].pk}  # p3 is exempt, p2 had a reason in March
    assert {f["member_id"] for f in found if f["check"] == "leader_org_life"} == {leader.pk}
    # five months is not six
    assert not [f for f in compliance.member_findings(2025, org=b, today=dt.date(2025, 6, 1), lapse_months=6)
                if f["check"] == "lapse"]
    assert all("自动" not in f["message"] for f in found)


# ---- reference implementation on generated data ------------------------------------------------

def _ref_periods(unit, start, end):
    size = {"month": 1, "quarter": 3, "half": 6, "year": 12}[unit]
    out = []
    for year in range(start.year, end.year + 1):
        for first in range(1, 13, size):
            last = first + size - 1
            ps, pe = dt.date(year, first, 1), dt.date(year, last, calendar.monthrange(year, last)[1])
            if ps <= end and pe >= start:
                label = {1: f"{year}-{first:02d}", 3: f"{year}Q{(first + 2) // 3}", 6: f"{year}H{(first + 5) // 6}",
                         12: f"{year}"}[size]
                out.append((label, ps, pe))
    return out


def _ref_quorum(rule, activity, org):
    att = list(activity.attendances.all())
    present = {a.member_id for a in att if a.status == "present"}
    if rule.quorum == "half_voting":
        scope = org.parent if org.kind == "cell" else org
        base = [m for m in Member.objects.filter(org__path__startswith=scope.path, status="active", category="full")]
        voting = {m.pk for m in base if not m.is_exempt or m.pk in present}
        return 2 * len(voting & present) > len(voting)
    if rule.quorum == "half_committee":
        holders = {s.holder_id for s in org.seats.filter(is_active=True, holder__isnull=False)}
        return 2 * len(holders & present) > len(holders)
    if rule.quorum == "two_thirds":
        listed = [a for a in att if a.status != "observer"]
        return 3 * len(present) >= 2 * len(listed)
    return True


def reference(start, end, today):
    """Naive: per org, per rule, per period, with ORM objects and no shared state."""
    rules = list(ActivityRule.objects.all())
    out = set()
    for org in Organization.objects.all():
        for code in {r.code for r in rules}:
            versions = [r for r in rules if r.code == code]
            for unit in {r.period for r in versions}:
                for label, ps, pe in _ref_periods(unit, start, end):
                    live = [r for r in versions if r.period == unit and r.effective_from <= pe
                            and (r.effective_to is None or r.effective_to >= pe)]
                    if not live or org.kind not in live[0].org_kinds:
                        continue
                    rule = live[0]
                    if (org.dissolved_on and org.dissolved_on < ps) or (org.established_on and org.established_on > pe):
                        continue
                    partial = (org.dissolved_on and org.dissolved_on < pe) or \
                        (org.established_on and org.established_on > ps)
                    applies = True
                    if rule.condition == "lecture_by_secretary":
                        seat = org.seats.filter(is_active=True, role="secretary", holder__isnull=False).first()
                        applies = seat is not None
                        acts_ = Activity.objects.filter(status="active", lecturer=seat.holder, held_on__gte=ps,
                                                        held_on__lte=pe, kinds__kind=rule.kind) if seat else []
                        good = [a.pk for a in acts_]
                    else:
                        if rule.condition == "has_committee":
                            applies = org.seats.filter(is_active=True).exclude(
                                role__in=["secretary", "deputy_secretary"]).exists()
                        elif rule.condition == "top_of_unit":
                            applies = org.parent is None or org.parent.kind == "working_committee"
                        acts_ = Activity.objects.filter(org=org, status="active", held_on__gte=ps, held_on__lte=pe,
                                                        kinds__kind=rule.kind)
                        good = [a.pk for a in acts_ if _ref_quorum(rule, a, org)]
                    held = len(good)
                    if not applies:
                        status = "not_applicable"
                    elif held >= rule.min_count:
                        status = "met"
                    elif partial:
                        status = "not_applicable"
                    elif pe >= today:
                        status = "due"
                    else:
                        status = "missing"
                    required = 0 if status == "not_applicable" else rule.min_count
                    out.add((org.code, code, label, required, held, status, tuple(sorted(good))))
    return out


def generate(seed):
    rng = random.Random(seed)
    wc = factories.org(None, kind="working_committee", code="G-WC")
    lg = factories.org(wc, kind="leading_group", code="G-DZ")
    tops = [factories.org(wc, kind="organ_committee", code=f"G-JG{i}") for i in range(2)]
    branches = []
    for i in range(7):
        full = rng.randint(2, 9)
        b = branch_with(rng.choice(tops), full=full, probationary=rng.randint(0, 2),
                        committee=full >= 3 and rng.random() < 0.5, exempt=rng.randint(0, 1), code=f"G-B{i}")
        branches.append(b)
    lone = branch_with(wc, full=3, code="G-LONE")  # a department's only branch, directly under the 工委
    branches.append(lone)
    cell = factories.org(branches[0], kind="cell", code="G-CELL")
    gone = factories.org(tops[0], kind="branch", code="G-GONE")
    late = branch_with(tops[1], full=3, code="G-LATE", established_on=dt.date(2025, 5, 20))
    branches.append(late)
    record(gone, ["theme_day"], dt.date(2025, 1, 12))
    org_services.dissolve_org(None, gone, dt.date(2025, 4, 15))
    combos = [["theme_day"], ["theme_day", "general_meeting"], ["theme_day", "general_meeting", "party_lecture"],
              ["party_lecture"], ["committee_meeting"], ["org_life_meeting", "member_appraisal"], ["general_meeting"]]
    for b in branches:
        for month in range(1, 9):
            for _ in range(rng.choice([0, 1, 1, 2])):
                day = dt.date(2025, month, rng.randint(1, 28))
                if day > TODAY or (b.established_on and day < b.established_on):
                    continue
                kinds = rng.choice(combos)
                if "committee_meeting" in kinds and not b.seats.filter(role="organization_officer").exists():
                    kinds = ["theme_day"]
                rate = rng.choice([0.3, 0.6, 0.9, 1.0])
                att = {}
                for m in b.people:
                    r = rng.random()
                    att[m.pk] = "present" if r < rate else (("excused", "公务") if r < rate + 0.1 else "absent")
                lecturer = rng.choice([None, b.people[0], b.people[-1]]) if "party_lecture" in kinds else None
                a = record(b, kinds, day, topic=f"第{rng.randint(1, 10 ** 6)}次", attendance=att, lecturer=lecturer)
                if rng.random() < 0.08:
                    acts.withdraw_activity(None, a, "录入有误")
    p0 = branches[0].people
    for month in range(1, 8):
        record(cell, ["cell_meeting"], dt.date(2025, month, 15), attendance={p0[0].pk: "present"})
        if rng.random() < 0.8:
            record(lg, ["central_study"], dt.date(2025, month, 10))
    record(lg, ["democratic_life_meeting"], dt.date(2025, 2, 10),
           attendance={branches[1].people[0].pk: "present", branches[2].people[0].pk: "absent",
                       branches[3].people[0].pk: "present"})
    record(tops[0], ["organ_member_assembly"], dt.date(2025, 3, 3))
    record(lone, ["organ_member_assembly"], dt.date(2025, 4, 3))


@pytest.mark.parametrize("seed", [1, 2])
def test_engine_matches_reference_implementation(db, seed):
    generate(seed)
    seen = set()
    for start, end in [YEAR, (dt.date(2025, 4, 1), dt.date(2025, 6, 30)), (dt.date(2025, 8, 1), dt.date(2025, 8, 31))]:
        engine = {(v.org_code, v.rule.code, v.period.label, v.required, v.held, v.status, tuple(v.evidence))
                  for v in compliance.compute(start, end, today=TODAY)}
        expected = reference(start, end, TODAY)
        assert engine == expected, (sorted(engine - expected)[:5], sorted(expected - engine)[:5])
        seen |= engine
    # the generated data exercises every status and every rule
    assert {row[5] for row in seen} == {"met", "missing", "due", "not_applicable"}
    assert {row[1] for row in seen} == set(ActivityRule.objects.values_list("code", flat=True))


# ---- storing ------------------------------------------------------------------------------------

def test_store_replaces_only_the_recomputed_range(tree):
    b = branch_with(tree["a"], full=3)
    compliance.recompute(*YEAR, today=TODAY)
    total = ComplianceRow.objects.filter(org=b).count()
    assert total == len(verdicts(b, *YEAR))
    a = record(b, ["theme_day"], dt.date(2025, 3, 5))
    compliance.recompute(dt.date(2025, 3, 5), dt.date(2025, 3, 5), org_ids=[b.pk], today=TODAY)
    assert ComplianceRow.objects.filter(org=b).count() == total
    assert ComplianceRow.objects.get(org=b, code="theme_day", period="2025-03").evidence == [a.pk]
    assert ComplianceRow.objects.get(org=b, code="theme_day", period="2025-02").status == "missing"


def test_stored_due_turns_missing_when_the_period_ends(tree):
    b = branch_with(tree["a"], full=3)
    compliance.recompute(dt.date(2025, 8, 1), dt.date(2025, 8, 31), org=b, today=TODAY)
    row = ComplianceRow.objects.get(org=b, code="theme_day", period="2025-08")
    assert row.status == "due"
    assert compliance.current_status(row, dt.date(2025, 9, 1)) == "missing"
    assert compliance.current_status(row, dt.date(2025, 8, 31)) == "due"


# ---- CLI ----------------------------------------------------------------------------------------

def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_cli_json_shape_and_period_expansion(tree):
    b = branch_with(tree["a"], full=3, code="CLI01")
    a = record(b, ["theme_day", "general_meeting"], dt.date(2025, 8, 1), attendance=everyone(b))
    rows = json.loads(run("compliance", "--period", "2025Q3", "--org", "CLI01", "--format", "json",
                          "--today", "2025-08-15"))
    assert rows and all(list(r) == ["org_code", "org_name", "period", "kind", "required", "held", "status",
                                    "evidence"] for r in rows)
    theme = [r for r in rows if r["kind"] == "theme_day"]
    assert [r["period"] for r in theme] == ["2025-07", "2025-08", "2025-09"]
    assert [r["status"] for r in theme] == ["missing", "met", "due"]
    assert theme[1] == {"org_code": "CLI01", "org_name": b.name, "period": "2025-08", "kind": "theme_day",
                        "required": 1, "held": 1, "status": "met", "evidence": [a.pk]}
    gm = next(r for r in rows if r["kind"] == "general_meeting")
    assert (gm["period"], gm["status"], gm["evidence"]) == ("2025Q3", "met", [a.pk])
    assert {r["period"] for r in rows if r["kind"] == "org_life_meeting"} == {"2025"}
    assert next(r for r in rows if r["kind"] == "committee_meeting")["status"] == "not_applicable"
    assert {r["org_code"] for r in rows} == {"CLI01"}
    # the whole tree includes the other department's branch; --org CZ keeps to its subtree
    everything = json.loads(run("compliance", "--period", "2025-08", "--format", "json", "--today", "2025-08-15"))
    assert {"CZ01", "JY01", "CLI01"} <= {r["org_code"] for r in everything}
    cz = json.loads(run("compliance", "--period", "2025-08", "--org", "CZ", "--format", "json",
                        "--today", "2025-08-15"))
    assert {r["org_code"] for r in cz} == {"CZ", "CZ01", "CLI01"}
    assert ComplianceRow.objects.filter(org=b, period="2025-08", code="theme_day").get().status == "met"
    for fmt in ("csv", "table"):
        text = run("compliance", "--period", "2025", "--org", "CLI01", "--format", fmt, "--today", "2025-08-15")
        assert "CLI01" in text
    assert run("compliance", "--period", "2025H2", "--org", "CLI01", "--format", "csv",
               "--today", "2025-08-15").splitlines()[0].startswith("org_code,org_name,period,kind")


def test_cli_streams_exactly_what_the_verdicts_print(tree):
    """The command prints the stored rows as it reads them; the bytes are those of the
    verdicts' own JSON and CSV, in the verdicts' order (the output is a contract)."""
    from dangjian.core.cli import to_csv, to_json

    for i in range(3):
        b = branch_with(tree["a" if i % 2 else "b"], full=3, code=f"ST{i:02d}")
        record(b, ["theme_day", "general_meeting"], dt.date(2025, 2 + i, 3), attendance=everyone(b))
        record(b, ["party_lecture"], dt.date(2025, 5, 3), lecturer=b.people[0])
    printed = run("compliance", "--period", "2025", "--format", "json", "--today", "2025-08-15")
    verdicts = compliance.compute(*YEAR, today=TODAY)  # TODAY is the --today above
    assert printed == to_json([v.as_json() for v in verdicts]) + "\n"
    csv_text = run("compliance", "--period", "2025", "--format", "csv", "--today", "2025-08-15")
    assert csv_text == to_csv(
        ["org_code", "org_name", "period", "kind", "required", "held", "status", "evidence", "failed_quorum"],
        [[v.org_code, v.org_name, v.period.label, v.rule.code, v.required, v.held, v.status,
          " ".join(map(str, v.evidence)), " ".join(map(str, v.failed_quorum))] for v in verdicts]) + "\n"


@pytest.mark.parametrize("args, text", [
    (["--period", "2025Q5"], "格式不正确"),
    (["--period", "2025-13"], "格式不正确"),
    (["--period", "明年"], "格式不正确"),
    (["--period", "2025", "--org", "NOPE"], "不存在"),
    (["--period", "2025", "--today", "2025/1/1"], "YYYY-MM-DD"),
])
def test_cli_bad_input_exits_2_in_chinese(tree, args, text):
    with pytest.raises(CommandError, match=text) as e:
        call_command("compliance", *args, "--format", "json", stdout=io.StringIO())
    assert e.value.returncode == 2


# ---- query count --------------------------------------------------------------------------------

def _add_branches(parent, n, start):
    for i in range(start, start + n):
        b = branch_with(parent, full=3, committee=False, code=f"QC{i:03d}")
        record(b, ["theme_day", "general_meeting"], dt.date(2025, 2, 3), attendance=everyone(b))
        record(b, ["party_lecture"], dt.date(2025, 5, 3), lecturer=b.people[0])


def test_engine_query_count_does_not_grow_with_orgs(tree):
    _add_branches(tree["a"], 5, 0)
    with CaptureQueriesContext(connection) as small:
        few = compliance.compute(*YEAR, today=TODAY)
    _add_branches(tree["b"], 35, 5)
    with CaptureQueriesContext(connection) as large:
        many = compliance.compute(*YEAR, today=TODAY)
    assert len(many) > 5 * len(few) / 2
    assert len(large) == len(small) <= 8
    assert sum(1 for v in many if v.status == "met") >= 40 * 3
