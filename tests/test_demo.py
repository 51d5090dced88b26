"""The demo city: deterministic, internally consistent, carrying the faults the platform
must show, and safe to run against a database that already holds data."""
import collections
import datetime as dt
import io
import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from dangjian.accounts.models import RoleAssignment, User
from dangjian.core import audit, crypto, idcard
from dangjian.core.models import AuditEntry
from dangjian.core.people import display_name
from dangjian.core.text import pinyin_full, pinyin_initials
from dangjian.demo import generator
from dangjian.members.checks import check_member
from dangjian.members.models import Member, Membership
from dangjian.members.queries import member_list
from dangjian.orgs.models import CommitteeSeat, Organization, Term, Unit, search_names, segment
from dangjian.orgs.queries import term_status
from tests import factories

TODAY = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def big_plan():
    """A 3,000-member plan (no database): large enough for every kind of fault."""
    return generator.plan_city(members=3000, seed=11, today=TODAY)


def build(members=300, seed=5, reset=False):
    out = io.StringIO()
    call_command("demo", members=members, seed=seed, today=TODAY.isoformat(), reset=reset, stdout=out,
                 stderr=io.StringIO())
    return out.getvalue()


def fingerprint():
    orgs = list(Organization.objects.order_by("code").values_list("code", "name", "kind", "parent__code"))
    members = list(Member.objects.order_by("id_hash").values_list("name", "id_hash", "org__code", "post"))
    seats = sorted(CommitteeSeat.objects.values_list("org__code", "role", "holder__id_hash", "vacant_since"),
                   key=repr)
    return orgs, members, seats


def full_count(plan, org):
    return sum(1 for i in org.members if plan.members[i].category == "full")


# ---- the plan, without a database ------------------------------------------------------------

def test_same_seed_same_plan_other_seed_other_plan():
    a = generator.plan_city(members=300, seed=42, today=TODAY)
    b = generator.plan_city(members=300, seed=42, today=TODAY)
    c = generator.plan_city(members=300, seed=43, today=TODAY)
    key = lambda p: ([(o.code, o.name, o.parent) for o in p.orgs], [(m.name, m.id_number) for m in p.members])  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(c)


def test_members_count_scales_the_city():
    small = generator.plan_city(members=200, seed=1, today=TODAY)
    default = generator.plan_city(members=10_000, seed=1, today=TODAY)
    assert len(small.members) == 200 and len(default.members) == 10_000
    assert 55 <= len(default.units) <= 65
    assert 450 <= len(default.by_kind("branch")) <= 600
    assert len(small.units) < len(default.units)
    assert len(small.by_kind("branch")) < len(default.by_kind("branch"))


def test_every_member_passes_the_record_checks(big_plan):
    """What a clerk would check: valid 身份证号 matching birth date and gender, joined at 18+,
    confirmed after joining, probationary only within the last year."""
    for m in big_plan.members:
        record = {f: getattr(m, f) for f in ("name", "id_number", "birth_date", "gender", "phone", "joined_on",
                                             "confirmed_on", "category", "ethnicity", "workplace", "education")}
        assert check_member(record, today=TODAY) == [], m
    numbers = [m.id_number for m in big_plan.members]
    assert len(set(numbers)) == len(numbers)
    probationary = [m for m in big_plan.members if m.category == "probationary"]
    assert 0.01 < len(probationary) / len(big_plan.members) < 0.06
    assert all((TODAY - m.joined_on).days <= 366 for m in probationary)


def test_membership_history_is_continuous(big_plan):
    moved = 0
    for m in big_plan.members:
        rows = m.memberships
        assert rows[-1][0] == m.org and rows[-1][2] is None
        assert all(end is not None for _, _, end, _ in rows[:-1])
        for (_, _, end, _), (_, start, _, _) in zip(rows, rows[1:]):
            assert end == start  # closed the day the next one opens: no gap, no overlap
        moved += len(rows) > 1
    assert 0.02 < moved / len(big_plan.members) < 0.08


def test_structure_follows_the_rules(big_plan):
    orgs = big_plan.orgs
    wc = orgs[0]
    assert (wc.code, wc.name, wc.kind) == (generator.WC_CODE, generator.WC_NAME, "working_committee")
    # each department: a 党组 beside (not above) its grassroots chain, both under the 工委
    groups = big_plan.by_kind("leading_group")
    assert {o.unit for o in groups} == set(big_plan.units)
    assert all(o.parent == wc.index for o in groups)
    assert not any(o.parent is not None and orgs[o.parent].kind == "leading_group" for o in orgs)
    sizes = collections.Counter(m.workplace for m in big_plan.members)
    for o in big_plan.by_kind("organ_committee"):
        assert sizes[o.unit] >= 100
    assert any(o.is_joint for o in big_plan.by_kind("branch"))
    cells = big_plan.by_kind("cell")
    assert cells and all(orgs[c.parent].kind == "branch" for c in cells)
    assert "市财政局机关党委" in {o.name for o in orgs}


def test_big_plan_has_the_faults_to_show(big_plan):
    branches = big_plan.by_kind("branch")
    assert any(len(b.members) > 50 for b in branches)
    assert any(full_count(big_plan, b) < 3 for b in branches)
    statuses = collections.Counter(
        "expired" if o.term[1] < TODAY else "expiring" if (o.term[1] - TODAY).days <= 183 else "ok"
        for o in big_plan.orgs if o.term
    )
    assert statuses["expired"] >= 1 and statuses["expiring"] >= 1 and statuses["ok"] > statuses["expiring"]
    vacant = [(o, s) for o in big_plan.orgs for s in o.seats if s.holder is None]
    assert vacant and all(s.vacant_since <= TODAY for _, s in vacant)
    assert any(s.role == "secretary" and (TODAY - s.vacant_since).days > 90 for _, s in vacant)
    organ = big_plan.by_kind("organ_committee")
    assert any("discipline_officer" not in {s.role for s in o.seats} for o in organ)
    assert any("discipline_officer" in {s.role for s in o.seats} for o in organ)

    def outranked(o):
        sec = next((s for s in o.seats if s.role == "secretary" and s.holder is not None), None)
        return sec is not None and any(
            s.holder is not None and big_plan.members[s.holder].rank // 10 > big_plan.members[sec.holder].rank // 10
            for s in o.seats)
    assert any(outranked(b) for b in branches)


def test_committee_size_follows_full_members(big_plan):
    for b in big_plan.by_kind("branch"):
        n = full_count(big_plan, b)
        if n >= generator.COMMITTEE_MIN_FULL:
            assert 3 <= len(b.seats) <= 5, b.name
        else:
            assert [s.role for s in b.seats] == ["secretary"], b.name
        holders = [s.holder for s in b.seats if s.holder is not None]
        assert len(holders) == len(set(holders))
        assert all(big_plan.members[h].org == b.index for h in holders)


def test_the_city_is_drawn_one_department_at_a_time():
    """The streamed departments are the plan, and the planner holds one department at a time."""
    whole = generator.plan_city(members=3000, seed=11, today=TODAY)
    planner = generator.stream_city(members=3000, seed=11, today=TODAY)
    held, orgs, members = [], [], []
    for dept in planner.departments():
        held.append(len(planner.members) == len(dept.members))
        orgs += [(o.index, o.code, o.parent) for o in dept.orgs]
        members += [(m.index, m.id_number, m.org) for m in dept.members]
    assert orgs == [(o.index, o.code, o.parent) for o in whole.orgs]
    assert members == [(m.index, m.id_number, m.org) for m in whole.members]
    assert all(held)  # the department being drawn, never the city
    # every department's members belong to its own orgs
    for dept in generator.stream_city(members=3000, seed=11, today=TODAY).departments():
        own = {o.index for o in dept.orgs}
        assert all(o in own for m in dept.members for o, *_ in m.memberships)


def test_faults_keep_their_rates_at_scale():
    """Drawn per department at the city's rates, not once for the city: a bigger city carries
    proportionally as many faults."""
    plan = generator.plan_city(members=30_000, seed=3, today=TODAY)
    branches = plan.by_kind("branch")
    over = sum(1 for b in branches if len(b.members) > generator.BRANCH_MAX)
    assert over >= round(30_000 / 2500) * 0.8
    seats = [s for o in plan.orgs for s in o.seats]
    assert 0.025 < sum(1 for s in seats if s.holder is None) / len(seats) < 0.06
    term_orgs = [o for o in plan.orgs if o.term]
    expired = sum(1 for o in term_orgs if o.term[1] < TODAY)
    assert expired / len(term_orgs) >= 0.02


@pytest.mark.django_db
def test_a_province_needs_postgresql(monkeypatch):
    monkeypatch.setattr(generator.connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        build(members=generator.MAX_MEMBERS_WITHOUT_COPY + 1)
    assert not Organization.objects.exists()


def test_plan_refuses_sizes_out_of_range():
    with pytest.raises(ValueError, match="党员人数"):
        generator.plan_city(members=10, seed=1, today=TODAY)


# ---- building it in the database -------------------------------------------------------------

@pytest.mark.django_db
def test_build_small_city_is_consistent():
    out = build()
    assert "示例市已生成" in out and generator.DEMO_PASSWORD in out and "caizheng" in out
    # The demo's password is one the platform itself would accept for each demo account.
    for demo_user in User.objects.exclude(is_superuser=True):
        validate_password(generator.DEMO_PASSWORD, demo_user)
    assert Member.objects.count() == 300
    assert Unit.objects.count() >= 6
    # paths: every org's path is its parent's path plus its own segment
    by_id = {o.pk: o for o in Organization.objects.all()}
    for o in by_id.values():
        parent_path = by_id[o.parent_id].path if o.parent_id else ""
        assert o.path == parent_path + segment(o.pk)
        # found by pinyin like any org: the bulk insert carries it
        assert (o.name_pinyin, o.name_initials) == search_names(o.name) and o.name_initials
    # every row written by COPY carries the top-level org its path names (the sharding column)
    from dangjian.orgs.queries import top_org_mismatches
    assert top_org_mismatches() == {}
    # exactly one open membership per member still on the roll (a member whose letter to outside
    # came back with its receipt has left it), matching member.org
    open_rows = Membership.objects.filter(ended_on__isnull=True)
    assert open_rows.count() == 300 - Member.objects.filter(status__in=Member.LEFT).count()
    assert open_rows.values("member").distinct().count() == open_rows.count()
    assert not Member.objects.filter(status__in=Member.LEFT, memberships__ended_on__isnull=True).exists()
    assert not open_rows.exclude(org_id=F("member__org_id")).exists()
    assert Membership.objects.filter(ended_on__isnull=False).exists()
    # 身份证号 decrypt to valid numbers whose hash and mask match
    for m in Member.objects.all():
        number = idcard.validate(m.id_number)
        assert crypto.lookup_hash(number) == m.id_hash and idcard.mask(number) == m.id_mask
        assert idcard.gender(number) == m.gender and idcard.birth_date(number) == m.birth_date
        assert (m.name_pinyin, m.name_initials) == (pinyin_full(m.name), pinyin_initials(m.name))
    # terms and seats
    with_members = Organization.objects.filter(kind="branch").annotate(n=Count("members")).filter(n__gt=0)
    assert Term.objects.filter(org__in=with_members, is_current=True).count() == with_members.count()
    assert CommitteeSeat.objects.filter(holder__isnull=True, vacant_since__isnull=False).exists()
    statuses = {term_status(t, TODAY) for t in Term.objects.all()}
    assert {"expired", "ok"} <= statuses
    # one history entry per org and member, marked as demo data
    assert AuditEntry.objects.filter(note=generator.AUDIT_NOTE).count() == Organization.objects.count() + 300
    # written without model instances, the entries are chained like any other
    assert audit.verify()["ok"]
    entry = AuditEntry.objects.filter(table="members.member").order_by("pk").first()
    member = Member.objects.get(pk=entry.object_id)
    assert entry.action == "create" and entry.changes["name"] == [None, member.name]
    assert entry.changes["id_mask"] == [None, member.id_mask] and "id_hash" not in entry.changes
    # history written later links to the demo's last entry
    audit.record(None, member, audit.snapshot(member) | {"post": "旧职务"})
    assert audit.verify()["ok"]


@pytest.mark.django_db
def test_same_seed_builds_the_same_city():
    build(seed=9)
    first = fingerprint()
    build(seed=9, reset=True)
    assert fingerprint() == first
    build(seed=10, reset=True)
    assert fingerprint() != first


@pytest.mark.django_db
def test_refuses_a_database_with_organizations():
    factories.org(kind="working_committee", name="真实的工委", code="REAL")
    with pytest.raises(CommandError, match="已有 1 个党组织.*--reset"):
        build()
    assert Member.objects.count() == 0 and not User.objects.exists()
    assert Organization.objects.get().code == "REAL"


@pytest.mark.django_db
def test_refuses_to_run_twice_without_reset_and_reset_replaces_cleanly():
    build()
    counts = (Organization.objects.count(), Member.objects.count(), Membership.objects.count(),
              AuditEntry.objects.count(), User.objects.count(), RoleAssignment.objects.count())
    with pytest.raises(CommandError, match="--reset"):
        build()
    keeper = User.objects.create_superuser("root", password="Keep@2026x")
    build(reset=True)
    assert (Organization.objects.count(), Member.objects.count(), Membership.objects.count(),
            AuditEntry.objects.count(), User.objects.count() - 1, RoleAssignment.objects.count()) == counts
    assert User.objects.filter(pk=keeper.pk).exists()  # the operator's own superuser stays


@pytest.mark.django_db
def test_if_empty_keeps_an_existing_city_and_builds_an_empty_one():
    out = io.StringIO()
    call_command("demo", members=300, seed=5, today=TODAY.isoformat(), if_empty=True, stdout=out,
                 stderr=io.StringIO())
    assert Member.objects.count() == 300
    before = fingerprint()
    out = io.StringIO()
    call_command("demo", members=500, seed=6, if_empty=True, stdout=out, stderr=io.StringIO())
    assert "保留现有数据" in out.getvalue()
    assert fingerprint() == before


@pytest.mark.django_db
def test_refuses_taken_demo_username():
    User.objects.create_user("admin", password="Other@2026x")
    with pytest.raises(CommandError, match="用户名 admin 已被占用"):
        build()
    assert not Organization.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("options, message", [
    ({"members": 10}, "--members 应在"),
    ({"today": "2026-13-01"}, "--today 应为 YYYY-MM-DD"),
])
def test_bad_options_give_chinese_messages(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("demo", stdout=io.StringIO(), stderr=io.StringIO(), **options)
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_demo_accounts_log_in_with_their_scope(client):
    build()
    for username in generator.DEMO_USERNAMES:
        assert client.login(username=username, password=generator.DEMO_PASSWORD), username
        client.logout()
    assert not User.objects.filter(is_superuser=True).exists()
    admin = User.objects.get(username="admin")
    caizheng = User.objects.get(username="caizheng")
    zhibu = User.objects.get(username="zhibu")
    dangyuan = User.objects.get(username="dangyuan")
    assert member_list(admin).count() == 300
    cz = member_list(caizheng)
    assert 0 < cz.count() < 300 and set(cz.values_list("workplace", flat=True)) == {"市财政局"}
    # the branch secretary's login belongs to the member holding that branch's secretary seat
    branch = RoleAssignment.objects.get(user=zhibu).org
    assert CommitteeSeat.objects.filter(org=branch, role="secretary", holder=zhibu.member).exists()
    assert set(member_list(zhibu).values_list("org_id", flat=True)) == {branch.pk}
    assert list(Member.objects.visible_to(dangyuan).values_list("pk", flat=True)) == [dangyuan.member_id]
    # Every account names a person on the pages: staff accounts carry a Chinese full name.
    for u in User.objects.filter(username__in=generator.DEMO_USERNAMES).select_related("member"):
        name = display_name(u)
        assert name != u.username and re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name), (u.username, name)
    assert display_name(zhibu) == zhibu.member.name


@pytest.mark.parametrize("n, text", [
    (1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (99, "九十九"),
    (100, "一百"), (105, "一百零五"), (110, "一百一十"), (115, "一百一十五"), (230, "二百三十"),
    # Beyond 999: a province's departments have that many branches.
    (1000, "一千"), (1005, "一千零五"), (1010, "一千零一十"), (1050, "一千零五十"), (1105, "一千一百零五"),
    (2019, "二千零一十九"), (9999, "九千九百九十九"), (10000, "一万"), (10010, "一万零一十"),
    (12000, "一万二千"), (100005, "十万零五"), (120300, "十二万零三百"),
])
def test_chinese_numbers_in_org_names(n, text):
    from dangjian.demo.names import chinese_number
    assert chinese_number(n) == text


# ---- a year of organizational life ----------------------------------------------------------

def life_fingerprint():
    from dangjian.activities.models import Activity, Attendance

    acts = list(Activity.objects.order_by("org__code", "held_on", "topic", "minutes").values_list(
        "org__code", "held_on", "topic", "minutes", "recorded_at", "expected_count", "present_count"))
    attendance = sorted(Attendance.objects.values_list("activity__org__code", "activity__held_on",
                                                       "member__id_hash", "status"), key=repr)
    return acts, attendance


@pytest.mark.django_db
def test_demo_year_of_organizational_life_is_deterministic():
    from dangjian.activities.models import Activity, ComplianceRow

    build(seed=9)
    first = life_fingerprint()
    assert len(first[0]) > 100
    rows = ComplianceRow.objects.count()
    build(seed=9, reset=True)
    assert life_fingerprint() == first
    assert ComplianceRow.objects.count() == rows
    build(seed=10, reset=True)
    assert life_fingerprint() != first
    assert not Activity.objects.filter(held_on__gt=TODAY).exists()


@pytest.mark.django_db
def test_demo_life_has_its_imperfections_and_compliance():
    from dangjian.activities import compliance
    from dangjian.activities.models import Activity, ActivityKind, Attendance, ComplianceRow

    out = build(members=1500, seed=3)
    assert "组织生活记录（近一年）" in out
    # Back to the start of the fourth complete quarter before TODAY's (2026Q2 → 2025Q2), so the
    # demo's quarterly gradings have whole quarters.
    start = dt.date(2025, 4, 1)
    assert not Activity.objects.filter(held_on__lt=start).exists()
    assert Activity.objects.filter(held_on__lt=start + dt.timedelta(days=30)).exists()
    # Every record's kind rows match it; theme days everywhere.
    assert ActivityKind.objects.filter(kind="theme_day").count() > 100
    assert not ActivityKind.objects.exclude(held_on=F("activity__held_on")).exists()
    # Compliance computed once for the year: met rows and missing months both present.
    statuses = collections.Counter(ComplianceRow.objects.values_list("status", flat=True))
    assert statuses["met"] > statuses["missing"] > 0
    assert ComplianceRow.objects.filter(code="theme_day", status="missing").exists()
    assert ComplianceRow.objects.filter(code="theme_day", period="2026-03").count() == \
        Organization.objects.filter(kind="branch").count()
    # Back-filling at quarter end: records entered long after they were held.
    late = [(a.recorded_at.date() - a.held_on).days for a in Activity.objects.only("held_on", "recorded_at")]
    assert sum(1 for d in late if d > 30) >= 10 and min(late) >= 0
    assert all(a.recorded_at.date() <= TODAY for a in Activity.objects.only("recorded_at"))
    # Copied minutes: the same text in two different branches.
    by_text = collections.defaultdict(set)
    for org_id, text in Activity.objects.filter(kinds__kind="theme_day").values_list("org_id", "minutes"):
        by_text[text].add(org_id)
    assert any(len(orgs) > 1 for orgs in by_text.values())
    # Leaders who skipped their branch's 组织生活会, and members lapsing from all meetings.
    assert Attendance.objects.filter(activity__kinds__kind="org_life_meeting", member__is_leader=True,
                                     status="absent").exists()
    checks = collections.Counter(f["check"] for f in compliance.member_findings(2026, today=TODAY))
    assert checks["leader_org_life"] > 0


@pytest.mark.django_db
def test_demo_assessment_grades_duties_and_admonishes_only_from_final_runs():
    from dangjian.assessment.models import Admonition, Run

    build()
    runs = list(Run.objects.select_related("scheme"))
    drafts, finals = [r for r in runs if not r.is_final], [r for r in runs if r.is_final]
    assert drafts and finals
    # the month still running is a draft (阶段性); a final run is complete and after its period
    assert any(r.period == f"{TODAY:%Y-%m}" and r.period_open for r in drafts)
    assert all(r.pending_manual == 0 and not r.period_open and r.period_end < TODAY for r in finals)
    assert not Admonition.objects.filter(run__status=Run.Status.DRAFT).exists()
    assert Admonition.objects.exists()
    for a in Admonition.objects.select_related("run__scheme"):
        score = a.run.scores.get(org=a.org)
        assert score.total is not None and score.total < a.run.scheme.admonish_below
    # the quarterly grading of this year weighs duty completion most, organizational life one part
    quarterly = next(r for r in finals if r.cycle == "quarterly" and r.period.startswith(str(TODAY.year))
                     and r.scheme.level == "unit")
    weights = {i.metric or i.method: i.weight for i in quarterly.scheme.indicators.all()}
    assert max(weights, key=weights.get) == "duty_completion" and "compliance_rate" in weights
    rows = [row for s in quarterly.scores.all() for row in s.breakdown if row["name"].startswith("党建工作责任清单")]
    assert rows and any(not row.get("not_applicable") for row in rows)  # measured from the demo's duty lists


@pytest.mark.django_db
def test_demo_rectification_items_stand_in_every_state_and_add_up():
    from dangjian.rectification import queries as item_queries
    from dangjian.rectification.models import Item, ItemEvent

    out = build()
    items = list(Item.objects.all())
    statuses = {i.status for i in items}
    assert {"pending", "rectifying", "closing", "closed", "referred"} <= statuses
    assert any(i.returned_count for i in items)
    assert any(i.status == "closed" and i.closed_on > i.deadline for i in items)  # closed late
    assert any(i.is_open and i.deadline < TODAY for i in items)  # overdue
    # every item was opened on its timeline, and moved only forward from there
    assert ItemEvent.objects.filter(kind="open").count() + ItemEvent.objects.filter(kind="receive").count() == len(items)
    counts = item_queries.counts(Item.objects.all(), TODAY)
    line = next(x for x in out.splitlines() if x.startswith("督查整改事项（未销号、其中超期，已销号）"))
    assert line.split()[-1] == f"{counts['total']}（{counts['open']}、{counts['overdue']}，{counts['closed']}）"
    # the sweep ran once on the last working day: every open overdue item carries its 督办, and
    # the summary counts the 催办 and 督办 written
    overdue = {i.pk for i in items if i.is_open and i.deadline < TODAY}
    escalated = set(ItemEvent.objects.filter(kind="escalate").values_list("item_id", flat=True))
    assert overdue and escalated == overdue
    reminded = ItemEvent.objects.filter(kind="remind").count()
    line = next(x for x in out.splitlines() if x.startswith("督查整改催办、督办"))
    assert line.split()[-1] == f"{reminded}、{len(escalated)}"
    # the compliance failures followed up name the requirement and period they come from
    failure = next(i for i in items if i.source == "compliance")
    assert failure.source_id and "应开未开" in failure.title
