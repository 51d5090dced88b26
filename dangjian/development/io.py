"""入党申请人 from a branch's Excel list, through the common importer (core.xlsx.Importer): title
rows, merged cells, header names in other words, a 序号 and a 备注 column and a signature footer
are read as clerks keep them; dates as 2026-03-05, 2026.3.5, 2026年3月5日, 20260305 or Excel
dates; the 身份证号 as text, or as a number when Excel kept all its digits (the check digit
proves it); the branch by its code, its full name, or a short name that names one branch of the
importer's scope (财政局一支部 for 财政局第一党支部).

Each row registers an applicant as the page does (`services.register_applicant`) and, when
its columns are filled, records the steps already taken: 党组织派人谈话 (the date and the 谈话人,
a member of the unit by name) and 推荐和确定入党积极分子 (the date; 同意). Every row is checked
with the rules of the page — `checks.applicant_problems`, `checks.step_problems` — against the
whole file and the database before anything is written, and a file with a single problem
writes nothing.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from django.db import IntegrityError

from dangjian.core import crypto, idcard, xlsx
from dangjian.core.scoping import scope_of
from dangjian.core.text import normalize_phone
from dangjian.core.xlsx import CellError, Column, Fixed, chunks
from dangjian.members.models import Education, Gender, Member
from dangjian.orgs.models import Organization

from . import services
from .catalog import YES
from .checks import DEVELOPING_KINDS, DevelopmentError, StepInput, applicant_problems, step_problems
from .models import Applicant, DevelopmentStep
from .rules import load as load_rules

CHUNK = 500
ORG_HINT = "组织代码（如 CZ01）、党支部全称，或能唯一确定党支部的简称（如 财政局一支部）"

COLUMNS = [
    Column("姓名", "name", help="入党申请人的姓名", example="王申请", width=10, aliases=("申请人姓名", "申请人")),
    Column("身份证号", "id_number", help="18位，含校验码；请设为文本格式。出生日期和性别由身份证号读出，只加密保存",
           example="110102200001010011", width=21, text=True, aliases=("身份证号码", "公民身份号码", "身份证")),
    Column("培养党支部", "org", help=ORG_HINT, example="CZ01", width=18,
           aliases=("党支部", "所在党支部", "培养党组织", "所在党组织", "组织代码", "党组织", "支部")),
    Column("学历", "education", help="可选：" + "、".join(Education.labels) + "（也可填 本科、大专、中专、硕士、博士）",
           example="大学本科", width=12, aliases=("文化程度", "最高学历")),
    Column("工作单位", "workplace", help="工作单位及职务", example="市财政局", width=20, aliases=("单位", "工作单位及职务")),
    Column("递交申请日期", "applied_on", help=f"递交入党申请书的日期；{xlsx.DATE_HINT}", example=dt.date(2026, 3, 5),
           width=14, aliases=("申请入党日期", "申请入党时间", "递交入党申请书日期", "递交入党申请书时间", "递交申请书日期",
                              "申请日期", "申请时间")),
    Column("性别", "gender", required=False, help="可不填（由身份证号读出）；填写时须与身份证号一致", example="男", width=6),
    Column("民族", "ethnicity", required=False, help="可不填，默认汉族", example="汉族", width=8),
    Column("手机号码", "phone", required=False, help="可不填", example="13900001111", width=14, text=True,
           aliases=("手机号", "联系电话", "电话")),
    Column("谈话日期", "talk_on", required=False, help=f"可不填；党组织已派人谈话的，填写谈话日期和谈话人；{xlsx.DATE_HINT}",
           width=12, aliases=("谈话时间", "党组织派人谈话日期")),
    Column("谈话人", "talker", required=False, help="谈话人的姓名（本单位在册党员），填写谈话日期时必填", width=10),
    Column("确定为入党积极分子日期", "activist_on", required=False,
           help=f"可不填；支委会已确定为入党积极分子的，填写确定日期（须先有谈话）；{xlsx.DATE_HINT}", width=16,
           aliases=("确定入党积极分子日期", "确定为入党积极分子时间", "确定积极分子日期", "列为入党积极分子日期")),
]
NOTES = [
    "一行一名入党申请人；表格上方的标题行、序号列、备注列和表格下方的填表人、审核人行都可以保留。",
    "日期可以写 2026-03-05、2026.3.5、2026年3月5日 或 Excel 日期；身份证号请设为文本格式（以数字保存的号码只在校验码正确时接受）。",
    "已谈话、已确定为入党积极分子的，可以同时填写这两步的日期；其余步骤请在申请人页面逐步记录。",
    "同一身份证号只能登记一次；已在入党申请人名单或党员名册中的，不能再导入。",
    "文件中任何一行有错误时，整个文件都不会导入；请按错误报告逐条修改后重新导入。",
]
EDUCATIONS = {label: value for value, label in Education.choices}
EDUCATION_ALIASES = {"本科": "大学本科", "大学本科毕业": "大学本科", "本科生": "大学本科", "大专": "大学专科",
                     "专科": "大学专科", "中专": "中等专科", "硕士": "硕士研究生", "硕士生": "硕士研究生",
                     "博士": "博士研究生", "博士生": "博士研究生", "初中": "初中及以下", "小学": "初中及以下"}
EDUCATION_AMBIGUOUS = {"研究生": "请填写“博士研究生”或“硕士研究生”", "大学": "请填写“大学本科”或“大学专科”"}
GENDERS = {label: value for value, label in Gender.choices}
GENDER_ALIASES = {"男性": "男", "女性": "女"}


@dataclass
class Row:
    number: int
    name: str = ""
    id_number: str = ""
    org_text: str = ""
    education: str | None = None
    workplace: str = ""
    applied_on: dt.date | None = None
    gender: str | None = None
    ethnicity: str = ""
    phone: str = ""
    talk_on: dt.date | None = None
    talker_name: str = ""
    activist_on: dt.date | None = None
    org: Organization | None = None
    talker: Member | None = None
    steps: list[StepInput] = field(default_factory=list)


def id_number_cell(value):
    """The 身份证号 as text; as a number only when Excel kept every digit (the check digit agrees)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CellError("身份证号不能为空")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = str(int(value)) if float(value).is_integer() else ""
        try:
            number = idcard.validate(digits)
        except idcard.IdNumberError:
            raise CellError("身份证号被 Excel 存成了数字，后几位已丢失：请把该列设为文本格式后重新填写") from None
        return Fixed(number, "以数字保存的身份证号", "文本（校验码正确）")
    typed = xlsx.cell_text(value)
    try:
        number = idcard.validate(re.sub(r"\s+", "", xlsx.code_text(value)).upper())
    except idcard.IdNumberError as exc:
        raise CellError(f"身份证号：{exc}") from None
    if number != typed.upper():
        # The number itself stays out of the report: it is personal data.
        return Fixed(number, "含空格或全角字符的身份证号", "去掉空格、折成半角的号码")
    return number


def phone_cell(value):
    typed = xlsx.text(xlsx.code_text(value), "手机号码", 30)
    if not typed:
        return ""
    phone = normalize_phone(typed).replace("-", "")
    if not phone.isdigit() or not 7 <= len(phone) <= 20:
        raise CellError(f"手机号码“{typed[:20]}”不是有效的号码")
    return Fixed(phone, typed, phone) if phone != typed else phone


def fold(name: str) -> str:
    """An organization's name as compared: full-width folded, spaces and the words clerks drop
    in short names (中共、第、党、委员会) left out."""
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))
    s = s.removeprefix("中共")
    return re.sub(r"[第党]|委员会", "", s)


def _subsequence(short: str, full: str) -> bool:
    it = iter(full)
    return all(ch in it for ch in short)


class ApplicantImporter(xlsx.Importer):
    columns = COLUMNS
    noun = "人"
    title = "入党申请人"
    hint = "党支部的入党申请人名单：按身份证号登记，可同时导入谈话和确定入党积极分子的日期；已登记的人不会重复导入。"
    notes = NOTES

    def parse(self, r: xlsx.RowReader) -> Row:
        row = Row(r.number)
        row.name = r.cell("name", lambda v: xlsx.text(v, "姓名", 50, required=True)) or ""
        row.id_number = r.cell("id_number", id_number_cell) or ""
        row.org_text = r.cell("org", lambda v: xlsx.text(xlsx.code_text(v), "培养党支部", 100, required=True)) or ""
        row.education = r.cell("education", lambda v: xlsx.choice(v, "学历", EDUCATIONS, aliases=EDUCATION_ALIASES,
                                                                ambiguous=EDUCATION_AMBIGUOUS))
        row.workplace = r.cell("workplace", lambda v: xlsx.text(v, "工作单位", 100, required=True)) or ""
        row.applied_on = r.cell("applied_on", lambda v: xlsx.date(v, "递交申请日期", required=True))
        row.gender = r.cell("gender", lambda v: xlsx.choice(v, "性别", GENDERS, required=False, aliases=GENDER_ALIASES))
        row.ethnicity = r.cell("ethnicity", lambda v: xlsx.text(v, "民族", 20)) or "汉族"
        row.phone = r.cell("phone", phone_cell) or ""
        row.talk_on = r.cell("talk_on", lambda v: xlsx.date(v, "谈话日期"))
        row.talker_name = r.cell("talker", lambda v: xlsx.text(v, "谈话人", 50)) or ""
        row.activist_on = r.cell("activist_on", lambda v: xlsx.date(v, "确定为入党积极分子日期"))
        if row.talk_on and not row.talker_name and "talker" not in r.bad:
            r.fail("talker", "填写谈话日期时，谈话人必填（本单位在册党员的姓名）")
        if row.talker_name and not row.talk_on and "talk_on" not in r.bad:
            r.fail("talk_on", "填写谈话人时，谈话日期必填")
        if row.activist_on and not row.talk_on and "talk_on" not in r.bad:
            r.fail("activist_on", "确定为入党积极分子前须先由党组织派人谈话：请填写谈话日期和谈话人")
        if row.id_number and row.gender and row.gender != idcard.gender(row.id_number):
            r.fail("gender", "性别与身份证号不符（身份证号第十七位单数为男、双数为女）")
        return row

    # ---- check ----

    def _orgs(self, rows: list[Row]) -> None:
        """The branch each row names: by code, full name, or a short name that names exactly one
        branch of the user's import scope."""
        qs = Organization.objects.filter(kind__in=DEVELOPING_KINDS)
        if self._scope is not None:
            prefixes = self._scope.prefixes("import")
            if not prefixes:
                qs = qs.none()
            else:
                from django.db.models import Q

                q = Q(pk__in=[])
                for p in prefixes:
                    q |= Q(path__startswith=p)
                qs = qs.filter(q)
        mine = list(qs.only("id", "code", "name", "path", "kind", "status", "parent_id"))
        by_code = {o.code: o for o in mine}
        by_name: dict[str, list[Organization]] = {}
        for o in mine:
            by_name.setdefault(fold(o.name), []).append(o)
        others = {o.code: o for o in xlsx.fetch(Organization.objects.all(), "code",
                                                 [r.org_text for r in rows if r.org_text not in by_code]).values()}
        for r in rows:
            text = r.org_text
            if not text:
                continue
            org = by_code.get(text)
            if org is None and text in others:
                o = others[text]
                if o.kind not in DEVELOPING_KINDS:
                    self.fail(r.number, "org", f"“{o.name}”是{o.kind_label}，入党申请由党支部（或党总支）受理和培养")
                else:
                    self.fail(r.number, "org", f"无权导入到该组织（{text}）：不在您的导入范围内")
                continue
            if org is None:
                folded = fold(text)
                found = by_name.get(folded) or [o for o in mine if _subsequence(folded, fold(o.name))]
                if len(found) > 1:
                    names = "、".join(f"{o.name}（{o.code}）" for o in found[:5])
                    self.fail(r.number, "org", f"“{text}”可能是 {names}，请填写组织代码")
                    continue
                if not found:
                    self.fail(r.number, "org", f"“{text}”不是您导入范围内的党支部，请填写{ORG_HINT}")
                    continue
                org = found[0]
                if org.name != text:
                    self.notes.value(r.number, "培养党支部", text, f"{org.name}（{org.code}）")
            if org.status != Organization.Status.ACTIVE:
                self.fail(r.number, "org", f"“{org.name}”已撤销，不能再登记入党申请人")
            else:
                r.org = org

    def _talkers(self, rows: list[Row]) -> None:
        """The 谈话人 by name among the active members of the branch's unit (the people the page
        offers): a name held twice there is refused."""
        named = [r for r in rows if r.talker_name and r.org is not None]
        found: dict[str, list[Member]] = {}
        for chunk in chunks(sorted({r.talker_name for r in named}), CHUNK):
            for m in Member.objects.active().filter(name__in=chunk).select_related("org"):
                found.setdefault(m.name, []).append(m)
        for r in named:
            top = r.org.path.split("/")[:2]
            prefix = "/".join(top) + "/" if len(top) == 2 and top[1] else r.org.path
            people = [m for m in found.get(r.talker_name, []) if m.org.path.startswith(prefix)]
            if not people:
                self.fail(r.number, "talker", f"“{r.talker_name}”不是{r.org.name}所在单位的在册党员")
            elif len(people) > 1:
                self.fail(r.number, "talker", f"本单位有 {len(people)} 名党员叫“{r.talker_name}”，请在申请人页面记录谈话")
            else:
                r.talker = people[0]

    def _known(self, rows: list[Row]) -> None:
        """The same person twice in the file, already an applicant, or already on the roster."""
        seen: dict[str, int] = {}
        hashes = {r.number: crypto.lookup_hashes(r.id_number) for r in rows if r.id_number}
        every = sorted({h for hs in hashes.values() for h in hs})
        applicants, members = set(), set()
        for chunk in chunks(every, CHUNK):
            applicants |= set(Applicant.objects.filter(id_hash__in=chunk).values_list("id_hash", flat=True))
            members |= set(Member.objects.filter(id_hash__in=chunk).values_list("id_hash", flat=True))
        for r in rows:
            if not r.id_number:
                continue
            if r.id_number in seen:
                self.fail(r.number, "id_number", f"与第 {seen[r.id_number]} 行是同一身份证号，同一人只能填写一行")
                continue
            seen[r.id_number] = r.number
            if any(h in applicants for h in hashes[r.number]):
                self.fail(r.number, "id_number", "该申请人已登记，请在入党申请人名单中查找")
            elif any(h in members for h in hashes[r.number]):
                self.fail(r.number, "id_number", "该身份证号已在党员名册中，不能再申请入党")

    def check(self, rows: list[Row]) -> None:
        self._orgs(rows)
        self._talkers(rows)
        self._known(rows)
        rules = load_rules()
        for r in rows:
            if not r.id_number or r.org is None or r.applied_on is None or r.education is None:
                continue
            born = idcard.birth_date(r.id_number)
            problems = applicant_problems(name=r.name, gender=idcard.gender(r.id_number), birth_date=born,
                                          workplace=r.workplace, org=r.org, applied_on=r.applied_on,
                                          today=self.today, rules=rules)
            if problems:
                key, message = problems[0]
                self.fail(r.number, key if key in self.headers else "applied_on", message.split("：", 1)[-1])
                continue
            self._steps(r, rules)

    def _steps(self, r: Row, rules) -> None:
        """The steps of the row checked one after the other as the page would record them."""
        planned = []
        if r.talk_on and r.talker is not None:
            planned.append(("talk_on", StepInput("talk", r.talk_on, talker=r.talker)))
        if r.activist_on and r.talk_on:
            planned.append(("activist_on", StepInput("recommend", r.activist_on, decision=YES)))
        person = Applicant(name=r.name, org=r.org, status=Applicant.Status.ACTIVE)
        recorded = [DevelopmentStep(code="apply", done_on=r.applied_on)]
        for key, s in planned:
            problems = step_problems(person, recorded, s, today=self.today, rules=rules)
            if problems:
                self.fail(r.number, key, problems[0][1].split("：", 1)[-1])
                return
            recorded.append(DevelopmentStep(code=s.code, done_on=s.done_on, decision=s.decision))
            r.steps.append(s)

    # ---- write ----

    def plan(self, rows: list[Row]) -> tuple[int, int]:
        return len(rows), 0

    def write(self, rows: list[Row]) -> None:
        try:
            for r in rows:
                a = services.register_applicant(
                    self.user, org=r.org, name=r.name, id_number=r.id_number, workplace=r.workplace,
                    applied_on=r.applied_on, education=r.education, phone=r.phone, ethnicity=r.ethnicity,
                    today=self.today)
                for s in r.steps:
                    services.record_step(self.user, a, s, today=self.today)
                    a.refresh_from_db()
        except DevelopmentError as exc:
            # Only a change made between the checks and the write can get here: nothing is kept.
            raise IntegrityError(exc.message) from None

    @classmethod
    def sample(cls, user) -> tuple[dict, str]:
        """A branch of the user's import scope and a made-up person not yet registered there."""
        prefixes = scope_of(user).prefixes("import")
        if not prefixes:
            return {}, ""
        from django.db.models import Q

        q = Q(pk__in=[])
        for p in prefixes:
            q |= Q(path__startswith=p)
        org = (Organization.objects.filter(q, kind__in=DEVELOPING_KINDS, status=Organization.Status.ACTIVE)
               .order_by("path").first())
        if org is None:
            return {}, ""
        born = dt.date(2000, 1, 1)
        for n in range(1, 999, 2):
            number = idcard.make("110102", born, n)
            if not Applicant.objects.by_id_number(number).exists() and not Member.objects.by_id_number(number).exists():
                break
        from django.utils import timezone

        return ({"org": org.code, "id_number": number, "applied_on": timezone.localdate() - dt.timedelta(days=30)},
                f"示例中的培养党支部“{org.name}”在您的导入范围内，身份证号是虚构的有效号码；请换成实际的入党申请人。")
