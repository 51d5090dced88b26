"""The demo city's development of new members (发展党员), written in bulk (a few queries per
thousand applicants) and generated from the city as it stands:

- about one branch in three develops one or two applicants, each stopped at a drawn step, so
  every stage is there — 申请入党, 入党积极分子, 发展对象 — with the branch's own full members as
  talkers, 培养联系人 and 入党介绍人, and the party committee above the branch approving; the
  branches of the demo's secretaries' accounts always develop someone;
- the probationary members who joined this year are the applicants admitted this year: their
  history (application to approval, the approval on the day they joined) is kept with them,
  linked to their member record, and the members confirmed this year have their whole
  development through to the archive;
- a few applicants break a timeline rule (a talk a month and a half after the application, a
  short training, an activist not reviewed for more than six months, a candidate named before a
  year as activist, an approval pending past three months), which the board and
  `dangjian development-check` list;
- one applicant has a login, `rudang`, to see 我的入党进程 on a phone.
"""
from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q

from dangjian.accounts.models import RoleAssignment, User
from dangjian.core import crypto, idcard
from dangjian.members.models import Category, Member
from dangjian.orgs.models import Organization

from . import checks
from .catalog import Stage
from .models import Applicant, DevelopmentStep
from .rules import add_months

ACCOUNT = "rudang"
ADMITTED_AT_MOST = 300
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆帅旭宁欣悦晨阳雪琳晗"
# Where a drawn applicant stops, by weight: most are early in the process.
STOPS = [("apply", 3), ("talk", 4), ("contacts", 4), ("activist_review", 5), ("candidate", 2),
         ("introducers", 2), ("training", 2), ("pre_review", 1), ("committee_talk", 1)]
PLANTED = ("late_talk", "short_training", "no_review", "early_candidate", "pending_approval")
ENTERS = {"recommend": Stage.ACTIVIST, "candidate": Stage.CANDIDATE, "approval": Stage.PROBATIONARY,
          "confirm_approval": Stage.FULL}


def schedule(applied: dt.date, fault: str = "") -> list[tuple[str, dt.date, dict]]:
    """Every step after the application, on dates keeping every rule by a few days' margin
    (or breaking the one `fault` names)."""
    d = dt.timedelta
    talk = applied + d(days=45 if fault == "late_talk" else 12)
    recommend = add_months(applied, 3)
    reviews = [add_months(recommend, 5), add_months(recommend, 10)]
    if fault == "no_review":
        reviews = [add_months(recommend, 8)]
    candidate = add_months(recommend, 10 if fault == "early_candidate" else 12) + d(days=5)
    pre = candidate + d(days=12)
    meeting = pre + d(days=14)
    approval = add_months(meeting, 2)
    confirm = add_months(meeting, 12) + d(days=5)
    vote = {"decision": "yes", "vote_expected": 9, "vote_present": 8, "vote_for": 8}
    training = {"training_days": 2, "training_hours": 16} if fault == "short_training" else \
        {"training_days": 3, "training_hours": 24}
    return [
        ("talk", talk, {"talker": 0}),
        ("recommend", recommend, {"decision": "yes"}),
        ("activist_file", recommend + d(days=3), {}),
        ("contacts", recommend + d(days=5), {"first_sponsor": 0, "second_sponsor": 1}),
        *[("activist_review", r, {}) for r in reviews],
        ("candidate", candidate, {"decision": "yes"}),
        ("candidate_file", candidate + d(days=2), {}),
        ("introducers", candidate + d(days=3), {"first_sponsor": 0, "second_sponsor": 1}),
        ("political_review", candidate + d(days=5), {"decision": "yes"}),
        ("training", candidate + d(days=8), training),
        ("committee_review", candidate + d(days=10), {"decision": "yes"}),
        ("pre_review", pre, {"decision": "yes"}),
        ("volunteer_form", pre + d(days=3), {}),
        ("branch_meeting", meeting, vote),
        ("committee_talk", meeting + d(days=10), {"talker": 1}),
        ("approval", approval, {"decision": "yes", "approver": True, "party_group_consulted": True}),
        ("approval_file", approval + d(days=5), {}),
        ("oath", approval + d(days=12), {}),
        ("grouping", approval + d(days=13), {}),
        ("probation_review", add_months(approval, 5), {}),
        ("confirm_request", confirm - d(days=12), {}),
        ("confirm_meeting", confirm, {**vote, "vote_present": 7, "vote_for": 7}),
        ("confirm_approval", add_months(confirm, 1), {"decision": "yes", "approver": True,
                                                      "party_group_consulted": True}),
        ("archive", add_months(confirm, 1) + d(days=7), {}),
    ]


def _shifted(target: dt.date, code: str, fault: str = "") -> tuple[dt.date, list]:
    """The application day and schedule that put step `code` on `target` (months differ in
    length, so the first guess is corrected, and the step is set on the day if it still misses)."""
    applied = target
    for _ in range(3):
        plan = schedule(applied, fault)
        when = next(day for c, day, _ in plan if c == code)
        if when == target:
            return applied, plan
        applied += target - when
    plan = schedule(applied, fault)
    return applied, [(c, target if c == code else day, f) for c, day, f in plan]


class _Writer:
    def __init__(self, rng: random.Random, sponsors: dict, approvers: dict, kinds: dict):
        self.rng, self.sponsors, self.approvers, self.kinds = rng, sponsors, approvers, kinds
        self.applicants: list[Applicant] = []
        self.steps: list[list[DevelopmentStep]] = []
        self.taken: set[str] = set()

    def _number(self, born: dt.date) -> str:
        while True:
            number = idcard.make("119901", born, self.rng.randrange(1000))
            if number not in self.taken:
                self.taken.add(number)
                return number

    def add(self, org_id: int, applied: dt.date, plan: list, until: str, today: dt.date, person: dict | None = None):
        rng = self.rng
        if person is None:
            born = add_months(applied, -12 * rng.randint(22, 35)) - dt.timedelta(days=rng.randint(0, 300))
            number = self._number(born)
            gender = idcard.gender(number)
            person = dict(name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
                          gender=gender, birth_date=born, ethnicity="汉族", education=rng.choice(
                              ["bachelor", "bachelor", "master", "college"]), phone=f"139{rng.randrange(10**8):08d}",
                          id_number_enc=crypto.encrypt(number), id_hash=crypto.lookup_hash(number),
                          id_mask=idcard.mask(number), workplace="")
        first, second = self.sponsors[org_id][:2]
        steps = [DevelopmentStep(code="apply", done_on=applied, document_received=True)]
        stage, since = Stage.APPLICATION, applied
        for code, day, fields in plan:
            if day > today:
                break
            values = dict(fields)
            for key in ("talker", "first_sponsor", "second_sponsor"):
                if key in values:
                    values[key + "_id"] = (first, second)[values.pop(key)]
            if values.pop("approver", None):
                values["approver_id"] = self.approvers[org_id]
                if self.kinds[values["approver_id"]] != "organ_committee":
                    values["party_group_consulted"] = False
            steps.append(DevelopmentStep(code=code, done_on=day, document_received=True, **values))
            if code in ENTERS:
                stage, since = ENTERS[code], day
            if code == until:
                break
        last = steps[-1].code
        status = Applicant.Status.DONE if last == "archive" else Applicant.Status.ACTIVE
        self.applicants.append(Applicant(org_id=org_id, stage=stage, stage_since=since, applied_on=applied,
                                         status=status, **person))
        self.steps.append(steps)

    def write(self) -> list[Applicant]:
        made = Applicant.objects.bulk_create(self.applicants, batch_size=500)
        if any(a.pk is None for a in made):  # a database that returns no ids from a bulk insert
            by_hash = dict(Applicant.objects.filter(id_hash__in=[a.id_hash for a in made]).values_list("id_hash", "pk"))
            for a in made:
                a.pk = by_hash[a.id_hash]
        rows = []
        for a, steps in zip(made, self.steps):
            for s in steps:
                s.applicant_id = a.pk
                rows.append(s)
        DevelopmentStep.objects.bulk_create(rows, batch_size=1000)
        return made


def build(today: dt.date, seed: int = 11, password: str | None = None) -> dict:
    rng = random.Random(seed)
    branches = list(Organization.objects.filter(kind="branch", status=Organization.Status.ACTIVE)
                    .order_by("path").values_list("id", "path", "name"))
    kinds = dict(Organization.objects.filter(kind__in=checks.APPROVER_KINDS).values_list("id", "kind"))
    approvers = {}
    for pk, path, _ in branches:
        above = [int(p) for p in path.strip("/").split("/")[:-1]]
        found = [i for i in reversed(above) if i in kinds]
        if found:
            approvers[pk] = found[0]
    sponsors: dict[int, list[int]] = {}
    for org_id, member_id in (Member.objects.filter(status=Member.Status.ACTIVE, category=Category.FULL)
                              .order_by("org_id", "id").values_list("org_id", "id")):
        sponsors.setdefault(org_id, []).append(member_id)
    usable = [b for b in branches if len(sponsors.get(b[0], [])) >= 2 and b[0] in approvers]
    if not usable:
        return {"applicants": 0, "message": "没有至少两名正式党员的党支部，未生成发展党员数据"}
    writer = _Writer(rng, sponsors, approvers, kinds)
    # The branches of the secretaries' accounts first, then about one in three.
    secretaries = set(RoleAssignment.objects.filter(role="branch_secretary").values_list("org_id", flat=True))
    chosen = [b for b in usable if b[0] in secretaries]
    rest = [b for b in usable if b[0] not in secretaries]
    chosen += rng.sample(rest, min(len(rest), max(3, len(usable) // 3)))
    codes, weights = zip(*STOPS)
    drawn = 0
    for org_id, _, name in chosen:
        for _ in range(rng.randint(1, 2)):
            fault = PLANTED[drawn] if drawn < len(PLANTED) else ""
            until = {"late_talk": "talk", "short_training": "training", "no_review": "activist_review",
                     "early_candidate": "candidate", "pending_approval": "committee_talk"}.get(
                fault, rng.choices(codes, weights)[0])
            target = today - dt.timedelta(days=rng.randint(5, 25))
            if fault == "pending_approval":
                target = add_months(today, -4)
            applied, plan = _shifted(target, until, fault) if until != "apply" else (target, [])
            writer.add(org_id, applied, plan, until, today)
            writer.applicants[-1].workplace = name[:100]
            drawn += 1
    # Admitted this year: the probationary members who joined this year; confirmed this year:
    # the full members confirmed this year a year after joining.
    columns = ("id", "org_id", "name", "gender", "birth_date", "ethnicity", "education", "phone", "id_number_enc",
               "id_hash", "id_mask", "workplace", "joined_on", "confirmed_on", "category")
    people = list(Member.objects.filter(status=Member.Status.ACTIVE, org_id__in=approvers)
                  .filter(Q(category=Category.PROBATIONARY, joined_on__year=today.year, joined_on__lte=today)
                          | Q(category=Category.FULL, confirmed_on__year=today.year, confirmed_on__lte=today))
                  .order_by("org_id", "id").values_list(*columns)[:ADMITTED_AT_MOST])
    admitted = confirmed = 0
    links = []
    for row in people:
        m = dict(zip(columns, row))
        if len(sponsors.get(m["org_id"], [])) < 2 or sponsors[m["org_id"]][0] == m["id"] \
                or sponsors[m["org_id"]][1] == m["id"]:
            continue
        person = {k: m[k] for k in ("name", "gender", "birth_date", "ethnicity", "education", "phone",
                                    "id_number_enc", "id_hash", "id_mask", "workplace")}
        if m["category"] == Category.PROBATIONARY:
            applied, plan = _shifted(m["joined_on"], "approval")
            writer.add(m["org_id"], applied, plan, "approval", m["joined_on"], person)
            admitted += 1
        else:
            applied, plan = _shifted(m["confirmed_on"], "confirm_approval")
            writer.add(m["org_id"], applied, plan, "archive", today, person)
            confirmed += 1
        links.append((len(writer.applicants) - 1, m["id"]))
    made = writer.write()
    for index, member_id in links:
        made[index].member_id = member_id
    Applicant.objects.bulk_update([made[i] for i, _ in links], ["member"], batch_size=500)
    account = ""
    first_applicant = next((a for a in made if a.stage == Stage.ACTIVIST and a.member_id is None), None)
    if first_applicant is not None and password and not User.objects.filter(username=ACCOUNT).exists():
        user = User.objects.create(username=ACCOUNT, password=password, last_name=first_applicant.name[:1],
                                   first_name=first_applicant.name[1:])
        Applicant.objects.filter(pk=first_applicant.pk).update(user=user)
        account = ACCOUNT
    by_stage = {s: 0 for s in Stage.ORDER}
    for a in made:
        by_stage[a.stage] += 1
    found = checks.violations(Applicant.objects.all(), today)
    return {"applicants": len(made), "by_stage": by_stage, "admitted": admitted, "confirmed": confirmed,
            "violations": len(found), "account": account, "message": ""}
