"""Every write of inspections: plain functions, one transaction each, audited, checked by
`checks` before anything is written. `user` None is the command line or the demo (no scope
limit).

Who may do what:
- the issuing side — "edit" or "manage" over the issuer — plans, edits, draws, issues
  evaluation codes, records, moves the status and turns findings into rectification items;
- the team (accounts named in the plan, holding "inspect" or "edit") record visits and findings
  on the plan's targets;
- nobody else writes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from dangjian.core import audit, versioning
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import can
from dangjian.orgs.models import Organization, OrgKind
from dangjian.rectification import services as rectification

from . import draw
from .checks import (
    InspectionError,
    finding_problems,
    first,
    plan_problems,
    target_problems,
    team_problems,
    text_problem,
    visit_problems,
)
from .models import (
    ChecklistItem,
    Evaluation,
    EvaluationCode,
    EvaluatorGroup,
    Finding,
    Inspection,
    Kind,
    Satisfaction,
    Target,
)

OUTSIDE = "不在您的权限范围内"
MAX_CODES_PER_ISSUE = 300
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12
MAX_ATTACHMENT = 20 * 1024 * 1024
ATTACHMENT_TYPES = {".pdf", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".xls", ".xlsx", ".txt"}
DRAW_KINDS = {OrgKind.BRANCH.value: "党支部", OrgKind.GENERAL_BRANCH.value: "党总支",
              OrgKind.ORGAN_COMMITTEE.value: "机关党委", OrgKind.COMMITTEE.value: "党委"}


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def is_issuing_side(user, inspection: Inspection) -> bool:
    path = inspection.issuer.path
    return user is None or can(user, "edit", path) or can(user, "manage", path)


def is_team_member(user, inspection: Inspection) -> bool:
    return user is not None and inspection.team.filter(pk=user.pk).exists()


def may_record(user, inspection: Inspection) -> bool:
    """Visits and findings: the issuing side, and the team of the plan."""
    return is_issuing_side(user, inspection) or is_team_member(user, inspection)


def _require_issuer(user, inspection: Inspection) -> None:
    if not is_issuing_side(user, inspection):
        raise InspectionError(None, f"只有组织单位（{inspection.issuer.name}）的党务工作人员可以进行此操作")


def _require_recorder(user, inspection: Inspection) -> None:
    if not may_record(user, inspection):
        raise InspectionError(None, "只有督查组成员和组织单位的党务工作人员可以记录督查情况")


def _may_issue_from(user, issuer) -> None:
    if isinstance(issuer, Organization) and user is not None and not (
            can(user, "edit", issuer.path) or can(user, "manage", issuer.path)):
        raise InspectionError("issuer", f"组织单位“{issuer.name}”{OUTSIDE}")


def _not_reported(inspection: Inspection) -> None:
    if inspection.status == Inspection.Status.REPORTED:
        raise InspectionError(None, f"“{inspection.title}”已通报，不能再修改")


# ---- the plan ----------------------------------------------------------------------------------

def draw_targets(issuer: Organization, *, under: Organization | None, kinds, count, seed) -> dict:
    """The draw of a random plan: {"seed", "count", "rule", "pool" (codes), "targets" (orgs)}."""
    under = under or issuer
    kinds = [k for k in (kinds or []) if k in DRAW_KINDS]
    if not kinds:
        raise InspectionError("draw_kinds", "抽取范围：请至少选择一种组织类别")
    if not under.path.startswith(issuer.path):
        raise InspectionError("draw_under", f"抽取范围：“{under.name}”不在{issuer.name}的范围内")
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise InspectionError("draw_count", "抽取数量：请填写 1 到 100 之间的整数") from None
    if not 1 <= count <= 100:
        raise InspectionError("draw_count", "抽取数量：请填写 1 到 100 之间的整数")
    if seed in (None, ""):
        seed = draw.new_seed()
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise InspectionError("draw_seed", f"抽取种子：“{str(seed)[:20]}”不是整数") from None
    if not 1 <= seed < draw.MAX_SEED:
        raise InspectionError("draw_seed", f"抽取种子：请填写 1 到 {draw.MAX_SEED - 1} 之间的整数")
    pool = draw.pool(under, kinds)
    if len(pool) < count:
        raise InspectionError("draw_count", f"抽取数量：{under.name}下符合条件的党组织只有 {len(pool)} 个，少于要抽取的 {count} 个")
    rule = {"under": under.code, "under_name": under.name, "kinds": sorted(kinds),
            "kind_labels": [DRAW_KINDS[k] for k in sorted(kinds)]}
    return {"seed": seed, "count": count, "rule": rule, "pool": [o.code for o in pool],
            "targets": draw.sample(pool, count, seed)}


def create_inspection(user, *, title, kind, unannounced, issuer, starts_on, ends_on, note="", team=(),
                      targets=(), draw_spec: dict | None = None) -> Inspection:
    """A new plan. `targets`: organizations chosen; a random plan draws them instead from
    `draw_spec` ({"under", "kinds", "count", "seed"}: see `draw_targets`)."""
    first(plan_problems(title=title, kind=kind, issuer=issuer, starts_on=starts_on, ends_on=ends_on, note=note))
    _may_issue_from(user, issuer)
    team = list(team)
    first(team_problems(team))
    drawn = None
    if kind == Kind.RANDOM:
        drawn = draw_targets(issuer, **(draw_spec or {"under": None, "kinds": [], "count": None, "seed": None}))
        targets = drawn["targets"]
    targets = list(targets)
    first(target_problems(issuer, targets))
    with transaction.atomic():
        inspection = Inspection.objects.create(
            title=title.strip(), kind=kind, unannounced=bool(unannounced), issuer=issuer, year=starts_on.year,
            starts_on=starts_on, ends_on=ends_on, note=(note or "").strip(), created_by=_actor(user),
            draw_seed=drawn and drawn["seed"], draw_count=drawn and drawn["count"],
            draw_rule=drawn["rule"] if drawn else {}, draw_pool=drawn["pool"] if drawn else [])
        inspection.team.set(team)
        Target.objects.bulk_create([Target(inspection=inspection, org=o, position=i)
                                    for i, o in enumerate(sorted(targets, key=lambda o: o.path), start=1)])
        audit.record(user, inspection, None, note="制定督查计划" + (
            f"，随机抽取 {drawn['count']} 个对象（种子 {drawn['seed']}）" if drawn else ""))
        AuditEntry.objects.create(table="inspections.inspection", object_id=inspection.pk, action="update",
                                  changes={"targets": [None, [o.code for o in targets]],
                                           "team": [None, [u.pk for u in team]]},
                                  user=_actor(user), note="确定督查对象和督查组")
    return inspection


def update_inspection(user, inspection: Inspection, *, title, unannounced, starts_on, ends_on, note="", team=(),
                      version: int | None = None) -> Inspection:
    """The header and the team; the kind, issuer and targets stay as planned (a random draw
    cannot be redone by editing)."""
    _require_issuer(user, inspection)
    team = list(team)
    with transaction.atomic():
        versioning.claim(inspection, version)
        _not_reported(inspection)
        first(plan_problems(title=title, kind=inspection.kind, issuer=inspection.issuer, starts_on=starts_on,
                            ends_on=ends_on, note=note))
        visited = inspection.targets.filter(visited_on__lt=starts_on).first()
        if visited is not None:
            raise InspectionError("starts_on", f"计划开始日期：{starts_on:%Y-%m-%d} 晚于已记录的督查日期"
                                               f" {visited.visited_on:%Y-%m-%d}（{visited.org.name}）")
        first(team_problems(team))
        before, stored = audit.snapshot(inspection), versioning.stored_values(inspection)
        inspection.title, inspection.unannounced, inspection.starts_on, inspection.ends_on = (
            title.strip(), bool(unannounced), starts_on, ends_on)
        inspection.note, inspection.year = (note or "").strip(), starts_on.year
        versioning.save_changes(inspection, stored)
        old_team = sorted(inspection.team.values_list("pk", flat=True))
        inspection.team.set(team)
        audit.record(user, inspection, before)
        new_team = sorted(u.pk for u in team)
        if old_team != new_team:
            AuditEntry.objects.create(table="inspections.inspection", object_id=inspection.pk, action="update",
                                      changes={"team": [old_team, new_team]}, user=_actor(user), note="调整督查组")
    return inspection


def add_targets(user, inspection: Inspection, orgs: list[Organization]) -> list[Target]:
    """More targets for a plan not yet reported (not for a random plan: its targets are drawn)."""
    _require_issuer(user, inspection)
    if inspection.is_random:
        raise InspectionError("targets", "随机督查的对象由抽取确定，不能另行添加")
    first(target_problems(inspection.issuer, orgs))
    with transaction.atomic():
        Inspection.objects.select_for_update().filter(pk=inspection.pk).first()
        inspection.refresh_from_db(fields=["status"])
        _not_reported(inspection)
        have = set(inspection.targets.values_list("org_id", flat=True))
        dup = next((o for o in orgs if o.pk in have), None)
        if dup is not None:
            raise InspectionError("targets", f"督查对象：“{dup.name}”已在本次督查中")
        start = inspection.targets.aggregate(m=Max("position"))["m"] or 0
        made = Target.objects.bulk_create([Target(inspection=inspection, org=o, position=start + i)
                                           for i, o in enumerate(orgs, start=1)])
        AuditEntry.objects.create(table="inspections.inspection", object_id=inspection.pk, action="update",
                                  changes={"targets": [None, [o.code for o in orgs]]}, user=_actor(user),
                                  note=f"增加督查对象 {len(orgs)} 个")
    return made


def add_checklist(user, inspection: Inspection, *, texts=(), indicators=()) -> list[ChecklistItem]:
    """Checklist items: free texts (one per line, “类别：内容” keeps a category) and/or copies of
    assessment indicators."""
    _require_issuer(user, inspection)
    rows = []
    for raw in texts:
        line = (raw or "").strip()
        if not line:
            continue
        category, sep, text = line.partition("：")
        if not sep or len(category) > 20:
            category, text = "", line
        if p := text_problem(text, "texts", "检查内容", 300):
            raise InspectionError(*p)
        if p := text_problem(category, "texts", "类别", 40, required=False):
            raise InspectionError(*p)
        rows.append((category.strip(), text.strip(), None))
    for ind in indicators:
        rows.append((ind.category[:40], ind.name[:300], ind))
    if not rows:
        raise InspectionError("texts", "检查内容：请填写至少一项，或选择考核方案的指标")
    with transaction.atomic():
        Inspection.objects.select_for_update().filter(pk=inspection.pk).first()
        inspection.refresh_from_db(fields=["status"])
        _not_reported(inspection)
        start = inspection.checklist.aggregate(m=Max("position"))["m"] or 0
        ChecklistItem.objects.bulk_create([ChecklistItem(inspection=inspection, position=start + i, category=c,
                                                         text=t, indicator=ind)
                                           for i, (c, t, ind) in enumerate(rows, start=1)])
        made = list(inspection.checklist.filter(position__gt=start))
        AuditEntry.objects.bulk_create([audit.entry(user, item, None, note="增加检查清单项") for item in made])
    return made


def indicators_of(scheme) -> list:
    return list(scheme.indicators.order_by("position", "id"))


NEXT_STATUS = {Inspection.Status.PLANNED: Inspection.Status.IN_PROGRESS,
               Inspection.Status.IN_PROGRESS: Inspection.Status.REPORTED}


def advance(user, inspection: Inspection, version: int | None = None) -> Inspection:
    """计划中 → 督查中 → 已通报 (the report is made: findings are final)."""
    _require_issuer(user, inspection)
    with transaction.atomic():
        versioning.claim(inspection, version)
        nxt = NEXT_STATUS.get(inspection.status)
        if nxt is None:
            raise InspectionError("status", f"“{inspection.title}”已通报")
        if nxt == Inspection.Status.REPORTED and not inspection.targets.filter(visited_on__isnull=False).exists():
            raise InspectionError("status", "还没有记录任何一次督查走访，不能通报")
        before, stored = audit.snapshot(inspection), versioning.stored_values(inspection)
        inspection.status = nxt
        if nxt == Inspection.Status.REPORTED:
            inspection.reported_at = timezone.now()
        versioning.save_changes(inspection, stored)
        audit.record(user, inspection, before, note="开始督查" if nxt == Inspection.Status.IN_PROGRESS else "督查情况已通报")
    return inspection


def delete_inspection(user, inspection: Inspection, version: int | None = None) -> None:
    """Only a plan nobody has started: a planning slip, not a record."""
    _require_issuer(user, inspection)
    with transaction.atomic():
        versioning.claim(inspection, version)
        if inspection.status != Inspection.Status.PLANNED or inspection.findings.exists():
            raise InspectionError("status", "督查已开始，不能删除")
        audit.record(user, inspection, audit.snapshot(inspection), action="delete", note="删除督查计划")
        inspection.delete()


# ---- on site -----------------------------------------------------------------------------------

def record_visit(user, target: Target, *, visited_on, note="", today: dt.date | None = None) -> Target:
    """The visit to a target (督查走访): from now on a 四不两直 target's people see it."""
    inspection = target.inspection
    _require_recorder(user, inspection)
    today = today or timezone.localdate()
    with transaction.atomic():
        Inspection.objects.select_for_update().filter(pk=inspection.pk).first()
        inspection.refresh_from_db(fields=["status", "starts_on"])
        _not_reported(inspection)
        first(visit_problems(visited_on, inspection.starts_on, today, note))
        target = Target.objects.select_for_update().get(pk=target.pk)
        before = audit.snapshot(target)
        target.visited_on, target.visit_note, target.visited_by = visited_on, (note or "").strip(), _actor(user)
        target.save(update_fields=["visited_on", "visit_note", "visited_by"])
        audit.record(user, target, before, note="记录督查走访")
        if inspection.status == Inspection.Status.PLANNED:
            before = audit.snapshot(inspection)
            Inspection.objects.filter(pk=inspection.pk).update(status=Inspection.Status.IN_PROGRESS)
            inspection.status = Inspection.Status.IN_PROGRESS
            audit.record(user, inspection, before, note="开始督查")
    return target


def _checked_upload(upload):
    if upload is None:
        return None
    name = Path(upload.name or "").name[:200]
    if Path(name).suffix.lower() not in ATTACHMENT_TYPES:
        raise InspectionError("attachment", "附件：只接受 PDF、图片（JPG、PNG）、Word、Excel 或文本文件")
    if upload.size > MAX_ATTACHMENT:
        raise InspectionError("attachment", f"附件：文件过大（最大 {MAX_ATTACHMENT // 1024 // 1024} MB）")
    return name


def record_findings(user, target: Target, entries: list[dict], upload=None) -> list[Finding]:
    """Findings at a target, all or none: each entry {"item" (ChecklistItem or None), "text",
    "list"}. `upload` (optional, never required) goes with the first entry."""
    inspection = target.inspection
    _require_recorder(user, inspection)
    entries = [e for e in entries if (e.get("text") or "").strip()]
    if not entries:
        raise InspectionError("text", "发现情况：请至少填写一条")
    items = {i.pk for i in inspection.checklist.all()}
    for e in entries:
        first(finding_problems(e.get("text"), e.get("list")))
        if e.get("item") is not None and e["item"].pk not in items:
            raise InspectionError("item", "检查清单项不属于本次督查")
    name = _checked_upload(upload)
    with transaction.atomic():
        Inspection.objects.select_for_update().filter(pk=inspection.pk).first()
        inspection.refresh_from_db(fields=["status"])
        _not_reported(inspection)
        made = []
        for i, e in enumerate(entries):
            f = Finding(inspection=inspection, target=target, item=e.get("item"), list=e["list"],
                        text=e["text"].strip(), recorded_by=_actor(user))
            if i == 0 and name:
                f.attachment.save(f"{secrets.token_hex(12)}{Path(name).suffix.lower()}",
                                  ContentFile(upload.read()), save=False)
                f.attachment_name = name
            f.save()
            made.append(f)
        AuditEntry.objects.bulk_create([audit.entry(user, f, None, note="记录督查发现") for f in made])
    return made


def delete_finding(user, finding: Finding) -> None:
    inspection = finding.inspection
    _require_recorder(user, inspection)
    with transaction.atomic():
        Inspection.objects.select_for_update().filter(pk=inspection.pk).first()
        inspection.refresh_from_db(fields=["status"])
        _not_reported(inspection)
        audit.record(user, finding, audit.snapshot(finding), action="delete", note="删除督查发现")
        finding.delete()


# ---- outside evaluators ------------------------------------------------------------------------

def normalize_code(raw: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", (raw or "").upper())


def code_hash(code: str) -> str:
    return hashlib.sha256(b"inspection:" + normalize_code(code).encode()).hexdigest()


def display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def issue_codes(user, inspection: Inspection, group: str, count) -> list[str]:
    """New one-time codes for a group of evaluators, returned once: only their hashes are kept.
    Evaluators judge how the targets carry out what the inspection found, so codes may be issued
    and used during the inspection and after its report alike."""
    _require_issuer(user, inspection)
    if group not in EvaluatorGroup.values:
        raise InspectionError("group", "评价群体：请选择两代表一委员或群众代表")
    try:
        count = int(str(count).strip())
    except (TypeError, ValueError):
        raise InspectionError("count", f"张数：“{str(count)[:20]}”不是整数") from None
    if not 1 <= count <= MAX_CODES_PER_ISSUE:
        raise InspectionError("count", f"张数：每次可生成 1 到 {MAX_CODES_PER_ISSUE} 张")
    with transaction.atomic():
        codes = ["".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(count)]
        EvaluationCode.objects.bulk_create([EvaluationCode(inspection=inspection, group=group, code_hash=code_hash(c))
                                            for c in codes])
        AuditEntry.objects.create(table="inspections.inspection", object_id=inspection.pk, action="update",
                                  changes={"codes": [None, {"group": group, "count": count}]}, user=_actor(user),
                                  note=f"生成评价码：{EvaluatorGroup(group).label} {count} 张")
    return codes


def code_for(raw: str) -> EvaluationCode:
    """The usable code, or InspectionError("code", why not) in Chinese."""
    norm = normalize_code(raw)
    if not norm:
        raise InspectionError("code", "请输入评价码")
    if len(norm) != CODE_LENGTH:
        raise InspectionError("code", f"评价码应为 {CODE_LENGTH} 位（字母和数字，可不输入短横线），请核对")
    code = EvaluationCode.objects.select_related("inspection").filter(code_hash=code_hash(norm)).first()
    if code is None:
        raise InspectionError("code", "评价码不正确，请核对后重新输入")
    if code.used:
        raise InspectionError("code", "这个评价码已经使用过，每个评价码只能评价一次")
    return code


def evaluation_targets(inspection: Inspection) -> list[Target]:
    """What an evaluator grades: the targets visited (a 四不两直 target not yet visited stays unnamed)."""
    return list(inspection.targets.filter(visited_on__isnull=False).select_related("org").order_by("position", "id"))


def evaluate(raw_code: str, grades: dict, comments: dict | None = None) -> int:
    """One evaluator's grades (满意、基本满意、不满意) of every visited target, with optional
    comments; the code is used up in the same transaction. Nothing about the evaluator is kept."""
    comments = comments or {}
    with transaction.atomic():
        code = code_for(raw_code)
        if EvaluationCode.objects.filter(pk=code.pk, used=False).update(used=True) != 1:
            raise InspectionError("code", "这个评价码已经使用过，每个评价码只能评价一次")
        targets = {t.pk: t for t in evaluation_targets(code.inspection)}
        if not targets:
            raise InspectionError("grades", "督查组还没有走访任何督查对象，请稍后再评价")
        rows = []
        for key, grade in (grades or {}).items():
            try:
                tid = int(key)
            except (TypeError, ValueError):
                raise InspectionError("grades", f"“{str(key)[:20]}”不是本次督查的对象") from None
            if tid not in targets:
                raise InspectionError("grades", f"编号为 {tid} 的督查对象不属于本次督查")
            if grade not in Satisfaction.values:
                raise InspectionError("grades", f"{targets[tid].org.name}：请选择满意、基本满意或不满意")
            comment = (comments.get(tid) or comments.get(str(tid)) or "").strip()
            if p := text_problem(comment, "comments", f"对{targets[tid].org.name}的意见", 500, required=False,
                                 multiline=True):
                raise InspectionError(*p)
            rows.append(Evaluation(inspection=code.inspection, target_id=tid, group=code.group, grade=grade,
                                   comment=comment))
        missing = [t.org.name for pk, t in targets.items() if pk not in {r.target_id for r in rows}]
        if missing:
            shown = "、".join(missing[:5]) + (f"等 {len(missing)} 个" if len(missing) > 5 else "")
            raise InspectionError("grades", f"请对每个督查对象作出评价，还未评价：{shown}")
        Evaluation.objects.bulk_create(sorted(rows, key=lambda r: r.pk))
    return len(rows)




# ---- findings become rectification items -------------------------------------------------------

ITEM_TITLE_MAX = 60


def _item_title(finding: Finding) -> str:
    line = finding.text.strip().splitlines()[0] if finding.text.strip() else "督查发现"
    return line if len(line) <= ITEM_TITLE_MAX else line[:ITEM_TITLE_MAX - 1] + "…"


def open_items(user, inspection: Inspection, findings: list[Finding], *, deadline=None, workdays=None,
               opened_on: dt.date | None = None, today: dt.date | None = None) -> list:
    """交办: each finding chosen becomes a rectification item for its target, issued by the plan's
    issuer, with one deadline (a date or working days); all of them, or none when one is refused."""
    _require_recorder(user, inspection)
    if not findings:
        raise InspectionError("findings", "请至少选择一条督查发现")
    if any(f.inspection_id != inspection.pk for f in findings):
        raise InspectionError("findings", "所选督查发现不属于本次督查")
    made = []
    with transaction.atomic():
        Inspection.objects.select_for_update().filter(pk=inspection.pk).first()
        # Lock the findings' own rows (no outer join may be locked), then read them with their parts.
        list(Finding.objects.select_for_update().filter(pk__in=[f.pk for f in findings]).order_by().values_list("pk"))
        rows = list(Finding.objects.filter(pk__in=[f.pk for f in findings])
                    .select_related("target__org", "item").order_by("target__position", "id"))
        done = next((f for f in rows if f.rectification_item_id is not None), None)
        if done is not None:
            raise InspectionError("findings", f"“{_item_title(done)}”已交办整改，不能重复交办")
        for f in rows:
            on = f"（{f.item.text}）" if f.item_id else ""
            try:
                item = rectification.open_item(
                    user, org=f.target.org, list=f.list, title=_item_title(f), description=f"{f.text}{on}",
                    source="inspection", source_id=inspection.pk,
                    source_label=f"{inspection.title}：{f.target.org.name}"[:200], issuer=inspection.issuer,
                    deadline=deadline, workdays=workdays, opened_on=opened_on, today=today)
            except rectification.ItemError as exc:
                raise InspectionError(exc.field, exc.message) from None
            before = audit.snapshot(f)
            f.rectification_item = item
            f.save(update_fields=["rectification_item"])
            audit.record(user, f, before, note="交办整改")
            made.append(item)
    return made
