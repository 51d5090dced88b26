"""Test data and helpers shared by the test modules. Records are built through the same
services the platform uses (no hand-written fixtures); fixtures that use these live in
conftest.py. A test module imports what it needs from here, never from another test module."""
import datetime as dt
import io
import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import openpyxl
from django.core.management import call_command
from django.test import Client
from pypinyin.constants import PHRASES_DICT

from dangjian.accounts.models import RoleAssignment, User
from dangjian.core import idcard
from dangjian.members import services as member_services
from dangjian.orgs import services as org_services

_seq = itertools.count(1)

# The day the organizational-life tests take as today (records, compliance, assessment).
TODAY = dt.date(2025, 8, 15)
PASSWORD = "Dangjian!2026"


# ---- the tree and its people ------------------------------------------------------------------

def org(parent=None, kind="branch", name=None, code=None, unit=None, **extra):
    n = next(_seq)
    return org_services.create_org(
        None,
        code=code or f"T{n:05d}",
        name=name or f"测试组织{n}",
        kind=kind,
        parent=parent,
        unit=unit or org_services.unit_named(f"测试单位{n}" if parent is None else (parent.unit.name if parent.unit else "测试单位")),
        established_on=dt.date(2015, 1, 1),
        **extra,
    )


def id_number(birth=dt.date(1985, 6, 1), seq=None) -> str:
    return idcard.make("110101", birth, (seq if seq is not None else next(_seq)) % 1000)


def member(org, name="张三", birth=dt.date(1985, 6, 1), gender="male", **extra):
    n = next(_seq)
    # The 17th digit carries the gender (odd = male): keep the number consistent with it.
    sequence = (n % 500) * 2 + (1 if gender == "male" else 0)
    fields = dict(
        name=name,
        gender=gender,
        ethnicity="汉族",
        birth_date=birth,
        id_number=idcard.make(f"{110101 + n // 500}", birth, sequence),
        education="bachelor",
        phone=f"138{n:08d}",
        org=org,
        category="full",
        joined_on=dt.date(2010, 7, 1),
        confirmed_on=dt.date(2011, 7, 1),
        workplace="测试局",
        post="科员",
        rank=20,
    )
    fields.update(extra)
    return member_services.create_member(None, **fields)


def user(role=None, org=None, member=None, username=None, password=PASSWORD, **fields):
    """A login with one role over `org`'s subtree; `fields`: more account fields (last_name …)."""
    n = next(_seq)
    u = User.objects.create_user(username=username or f"user{n}", password=password, member=member, **fields)
    if role:
        RoleAssignment.objects.create(user=u, role=role, org=org)
    return u


def login(user) -> Client:
    """A web client logged in as `user`."""
    c = Client()
    c.force_login(user)
    return c


def branch_with(parent, full=5, probationary=0, committee=False, code=None, exempt=0, **extra):
    """A branch with `full` full members (the first is secretary; with a committee the first
    three hold seats) and `probationary` probationary members."""
    established = extra.pop("established_on", None)
    b = org(parent, kind="branch", code=code, **extra)
    if established:
        b = org_services.update_org(None, b, established_on=established)
    people = [member(b, name=f"成员{i}", is_exempt=i >= full - exempt) for i in range(full)]
    people += [member(b, name=f"预备{i}", category="probationary", confirmed_on=None)
               for i in range(probationary)]
    since = dt.date(2024, 1, 1)
    org_services.fill_seat(None, b, "secretary", people[0], since)
    if committee:
        org_services.fill_seat(None, b, "organization_officer", people[1], since)
        org_services.fill_seat(None, b, "publicity_officer", people[2], since)
    b.people = people
    return b


# ---- organizational life and assessment ---------------------------------------------------------

def record(org, kinds, day, **kw):
    """One activity recorded through the service, as of TODAY unless told otherwise."""
    from dangjian.activities import services as acts

    kw.setdefault("today", TODAY)
    return acts.record_activity(None, org, kinds, day, **kw)


def everyone(org, status="present"):
    """An attendance list with every member of a `branch_with` branch in the same state."""
    return {m.pk: status for m in org.people}


METRIC_INDICATORS = [
    dict(category="组织生活", name="三会一课落实", weight=40, method="metric", metric="compliance_rate"),
    dict(category="组织生活", name="主题党日落实", weight=20, method="metric", metric="compliance_rate",
         params={"rule": "theme_day"}),
    dict(category="组织生活", name="到会情况", weight=20, method="metric", metric="attendance_rate"),
    dict(category="组织建设", name="组织设置规范", weight=10, method="metric", metric="alerts_clear"),
]
MANUAL = dict(category="作风建设", name="党建与业务融合", weight=10, method="manual", max_score=5,
              note="查阅资料、听取汇报")


def scheme(level="unit", code="S2025", year=2025, **kw):
    """An assessment scheme with the four metric indicators and one manual one."""
    from dangjian.assessment import services

    s = services.create_scheme(None, code=code, name=f"{year} 年考核方案", year=year, level=level, **kw)
    services.save_indicators(None, s, [*METRIC_INDICATORS, MANUAL])
    return s


def score_manual(s, period: str, score=4, comment="材料齐全") -> int:
    """Every target's manual score of the scheme for the period (a run is final only with them)."""
    from dangjian.assessment import queries, services

    entries = [(i.pk, t.org_id, score, comment) for i in s.indicators.filter(method="manual")
               for t in queries.targets(s.level)]
    return services.enter_manual_scores(None, s, period, entries)


def decision(issuer, number=None, year=2025, decided_on=dt.date(2026, 2, 1), entries=(), publish=False, **kw):
    """A 表彰决定 of `issuer` with `entries` ((honour code, org or member) pairs), drafted as the
    command line would (no user), published when asked."""
    from dangjian.commendations import services
    from dangjian.commendations.models import Honour
    from dangjian.members.models import Member

    d = services.create_decision(None, issuer=issuer, number=number or f"测试委〔2026〕{next(_seq)}号",
                                 decided_on=decided_on, title=kw.pop("title", f"关于表彰{year}年度先进集体和个人的决定"),
                                 year=year, today=kw.pop("today", dt.date(2026, 12, 1)))
    honours = {h.code: h for h in Honour.objects.all()}
    if entries:
        services.add_commendations(None, d, [
            (honours[code], None, who) if isinstance(who, Member) else (honours[code], who, None)
            for code, who in entries])
    if publish:
        services.publish(None, d)
    return d


# ---- Excel files and commands -------------------------------------------------------------------

NAMES = ["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七", "王八", "冯九", "陈十"]


def feedback(org, text="食堂饭菜价格偏高，建议公开成本。", user=None, channel="complaint", anonymous=False,
             received_on=None, today=None):
    """A feedback sent through the service (a complaint unless told); the follow-up code of an
    anonymous one is on `.code`."""
    from dangjian.feedback import services as feedback_services

    today = today or dt.date.today()
    fb, code = feedback_services.submit(user, channel=channel, org=org, text=text, anonymous=anonymous,
                                        received_on=received_on or today, today=today)
    fb.code = code
    return fb


def visit(org, participants, day=dt.date(2026, 3, 10), issues=(), households=3, people=5, user=None,
          kind="masses", today=None):
    """A visit recorded through the service; each issue becomes a feedback of the channel 走访收集."""
    from dangjian.feedback import services as feedback_services

    return feedback_services.record_visit(user, org=org, visited_on=day, kind=kind, place="幸福社区",
                                          households=households, people=people, participants=list(participants),
                                          issues=list(issues), today=today or max(day, dt.date.today()))


def person(n: int = 1, org: str = "CZ01", **over) -> dict:
    """A valid roster row (male: an odd 17th digit) unless `over` says otherwise."""
    born = dt.date(1985, 6, 1) + dt.timedelta(days=n)
    row = {
        "姓名": NAMES[n % len(NAMES)], "性别": "男", "民族": "汉族", "出生日期": born,
        "身份证号": idcard.make("110102", born, 101 + 2 * n), "学历": "大学本科", "手机号码": f"139{n:08d}",
        "所在党组织代码": org, "人员类别": "正式党员", "入党日期": dt.date(2010, 7, 1),
        "转正日期": dt.date(2011, 7, 1), "工作单位": "市财政局", "职务": "科员", "职级": "一级科员",
        "是否领导干部": "否",
    }
    row.update(over)
    return row


def org_row(code: str, parent: str = "CZ", **over) -> dict:
    """A valid row of the organizations workbook."""
    row = {"组织代码": code, "组织名称": f"{code}党支部", "组织类别": "党支部", "上级组织代码": parent,
           "所属单位": "市财政局", "成立日期": dt.date(2018, 3, 1), "本届开始日期": dt.date(2024, 3, 1),
           "本届届满日期": dt.date(2027, 3, 1)}
    row.update(over)
    return row


def sheet(path: Path, rows: list[dict], headers: list[str] | None = None) -> Path:
    """Write rows (dicts by Chinese header) to an .xlsx; headers default to the rows' keys."""
    if headers is None:
        headers = []
        for r in rows:
            headers += [h for h in r if h not in headers]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    wb.save(path)
    return path


def cli(*args) -> tuple[int, str, str]:
    """Run a command as the shell would see it: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(*args, stdout=out, stderr=err, verbosity=0)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def cli_json(*args) -> tuple[int, dict]:
    code, out, _ = cli(*args, "--format", "json")
    return code, json.loads(out)


def counts() -> dict:
    """Rows of the roster tables, to show that a refused import wrote nothing."""
    from dangjian.core.models import AuditEntry
    from dangjian.members.models import Member, Membership
    from dangjian.orgs.models import CommitteeSeat, Organization

    return {m.__name__: m.objects.count() for m in (Organization, Member, Membership, CommitteeSeat, AuditEntry)}


def run_console(*args) -> subprocess.CompletedProcess:
    """The real `dangjian` console script in a child process, with the project's own settings
    and this test run's environment (database, keys, jobs mode)."""
    exe = str(Path(sys.executable).with_name("dangjian"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dangjian.settings"}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env)


# ---- text ---------------------------------------------------------------------------------------

WORDS = sorted(w for w in PHRASES_DICT if 2 <= len(w) <= 4)


def original(rng: random.Random, size: int = 3000, standard: list[str] = (), share: float = 0.0) -> str:
    """Prose nobody else wrote (random words), with ``share`` of it standard clauses."""
    paras, para = [], []
    total = 0
    while total < size:
        if standard and rng.random() < share:
            s = rng.choice(standard)
        else:
            s = "".join(rng.choice(WORDS) for _ in range(rng.randint(4, 8))) + rng.choice("，，。；")
        para.append(s)
        total += len(s)
        if sum(map(len, para)) > 250:
            paras.append("".join(para))
            para = []
    paras.append("".join(para))
    return "\n".join(paras)


def browser_login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login page of a live server."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def page_text(response) -> str:
    """A response's body as text."""
    return response.content.decode()


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: no tags, no scripts or styles, entities decoded."""
    import html
    import re

    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


# ---- duty lists -------------------------------------------------------------------------

def latest_duty_item(code: str):
    """The newest version of a duty item."""
    from dangjian.duties.models import DutyItem

    return DutyItem.objects.filter(code=code).order_by("-from_year").first()


def duty_item_form(item, **over) -> dict:
    """The duty-item editor's POST for saving `item` unchanged, with `over` changed."""
    from django.utils import timezone

    data = {"action": "save", "item": item.pk, "title": item.title, "period": item.period,
            "min_count": str(item.min_count), "evidence": item.evidence, "kinds": list(item.kinds),
            "where": item.where, "relation": item.relation, "per": item.per, "fact": "", "source": item.source,
            "note": item.note, "year": str(item.from_year if item.from_year > 2000 else timezone.localdate().year)}
    if item.confirmed:
        data["confirmed"] = "on"
    data.update(over)
    return data


# ---- dues ---------------------------------------------------------------------------------------

def dues_base(member, base="5000.00", category="employed", since=dt.date(2025, 1, 1), today=TODAY):
    from dangjian.dues import services as dues_services

    return dues_services.set_base(None, member, base=base, category=category, effective_from=since, today=today)


def dues_paid(member, months: list[int], amount=None, paid_on=None, today=TODAY):
    """Pay `months` (YYYYMM) of `member`: by default exactly what is due, on the last month's 10th."""
    from decimal import Decimal

    from dangjian.dues import rates
    from dangjian.dues.models import DuesBase, month_number

    if amount is None:
        amount = Decimal("0")
        for m in months:
            n = month_number(m)
            b = [x for x in DuesBase.objects.filter(member=member) if x.start <= n and (x.end is None or x.end >= n)][0]
            amount += rates.compute(rates.in_force(dt.date(m // 100, m % 100, 1)), b.base, b.category)[1]
    last = max(months)
    paid_on = paid_on or min(dt.date(last // 100, last % 100, 10), today)
    from dangjian.dues import services as dues_services

    return dues_services.record_payment(None, member, months=months, amount=amount, paid_on=paid_on, today=today)
# ---- development (发展党员) ---------------------------------------------------------------------

def applicant(org, name="赵小明", birth=dt.date(2000, 3, 1), applied_on=dt.date(2023, 1, 10), user=None,
              today=dt.date(2030, 1, 1), **extra):
    """An applicant registered through the service (the step 递交入党申请书 included)."""
    from dangjian.development import services as development_services

    n = next(_seq)
    fields = dict(org=org, name=name, id_number=idcard.make("110102", birth, (n % 500) * 2 + 1),
                  workplace="测试局", applied_on=applied_on, education="bachelor", phone=f"139{n:08d}", today=today)
    fields.update(extra)
    return development_services.register_applicant(user, **fields)


def development_plan(applied_on: dt.date) -> list[tuple[str, dt.date, dict]]:
    """Every step after the application on dates that keep every timeline rule: (code, day, fields)."""
    def months(d, n):
        from dangjian.development.rules import add_months
        return add_months(d, n)

    d = dt.timedelta
    talk = applied_on + d(days=10)
    recommend = months(applied_on, 2)
    candidate = months(recommend, 12) + d(days=1)
    pre = candidate + d(days=8)
    meeting = pre + d(days=10)
    approval = months(meeting, 1)
    confirm = months(meeting, 12) + d(days=1)
    return [
        ("talk", talk, {"talker": "sponsor0"}),
        ("recommend", recommend, {"decision": "yes"}),
        ("activist_file", recommend + d(days=1), {}),
        ("contacts", recommend + d(days=2), {"first_sponsor": "sponsor0", "second_sponsor": "sponsor1"}),
        ("activist_review", months(recommend, 5), {}),
        ("activist_review", months(recommend, 10), {}),
        ("candidate", candidate, {"decision": "yes"}),
        ("candidate_file", candidate + d(days=1), {}),
        ("introducers", candidate + d(days=2), {"first_sponsor": "sponsor0", "second_sponsor": "sponsor1"}),
        ("political_review", candidate + d(days=3), {"decision": "yes"}),
        ("training", candidate + d(days=4), {"training_days": 3, "training_hours": 24}),
        ("committee_review", candidate + d(days=6), {"decision": "yes"}),
        ("pre_review", pre, {"decision": "yes"}),
        ("volunteer_form", pre + d(days=2), {}),
        ("branch_meeting", meeting, {"decision": "yes", "vote_expected": 9, "vote_present": 8, "vote_for": 8}),
        ("committee_talk", meeting + d(days=7), {"talker": "sponsor1"}),
        ("approval", approval, {"decision": "yes", "approver": "approver", "party_group_consulted": True}),
        ("approval_file", approval + d(days=3), {}),
        ("oath", approval + d(days=10), {}),
        ("grouping", approval + d(days=11), {}),
        ("probation_review", months(approval, 5), {}),
        ("confirm_request", confirm - d(days=10), {}),
        ("confirm_meeting", confirm, {"decision": "yes", "vote_expected": 9, "vote_present": 7, "vote_for": 7}),
        ("confirm_approval", months(confirm, 1), {"decision": "yes", "approver": "approver",
                                                  "party_group_consulted": True}),
        ("archive", months(confirm, 1) + d(days=5), {}),
    ]


def develop(a, until: str, sponsors, approver, user=None, today=dt.date(2030, 1, 1), **changes):
    """Record the steps of `development_plan` for applicant `a`, from where it stands up to and
    including `until`; `changes` (code → fields) replaces a step's date or fields."""
    from dangjian.development import services as development_services
    from dangjian.development.checks import StepInput
    from dangjian.development.models import Applicant

    named = {"sponsor0": sponsors[0], "sponsor1": sponsors[1], "approver": approver}
    done = list(a.steps.order_by("done_on", "id").values_list("code", flat=True))
    plan = development_plan(a.applied_on)
    if done[-1] == until:
        return Applicant.objects.get(pk=a.pk)
    for code, day, fields in plan[len(done) - 1:]:
        over = dict(changes.get(code, {}))
        day = over.pop("done_on", day)
        values = {k: named.get(v, v) if isinstance(v, str) else v for k, v in {**fields, **over}.items()}
        a = Applicant.objects.get(pk=a.pk)
        development_services.record_step(user, a, StepInput(code=code, done_on=day, **values), today=today)
        if code == until:
            break
    return Applicant.objects.get(pk=a.pk)
