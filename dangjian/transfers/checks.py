"""The rules of a letter and of a standing decision, as Chinese messages per field: the forms, the
API and the services all ask these (the services raise the first as `TransferError`).

The numbers come from the `membership` section of rules/defaults.yaml (党员教育管理工作条例(2019)
第二十四、二十五、三十、三十一、三十二条; 中组发〔2004〕10号): the letter's validity
(`letter_valid_months`, marked unconfirmed there: a letter may be given another validity in days),
the months lost before a suspension may be considered (`lost_contact_months_to_suspend`), the
months away after which a member at a fixed place should move their relation
(`transfer_when_away_months`), the years of suspension after which a member still out of reach is
considered for removal (`suspended_years_to_remove`), and the years abroad after which a member
who has not returned is considered for suspension (`abroad_years_to_suspend`). The last two, like
the months lost, only put people on a list for a decision by people (`queries.CONSIDER`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dangjian.core import defaults, periods
from dangjian.core.text import unsafe_characters_problem
from dangjian.members.models import Member
from dangjian.orgs import checks as org_checks
from dangjian.orgs.models import Organization

MAX_VALID_DAYS = 366


@dataclass(frozen=True)
class Rules:
    letter_valid_months: int = 3
    lost_contact_months_to_suspend: int = 6
    transfer_when_away_months: int = 6
    suspended_years_to_remove: int = 2
    abroad_years_to_suspend: int = 5
    sources: str = ""


def rules(**overrides) -> Rules:
    return defaults.settings_of(Rules, "membership", **overrides)


class TransferError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def first(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise TransferError(*problems[0])


def valid_until(issued_on: dt.date, valid_days: int | None) -> dt.date:
    """The last day a letter may be used: `valid_days` after issue, else the rules' months."""
    if valid_days:
        return issued_on + dt.timedelta(days=valid_days)
    return periods.months_before(issued_on, -rules().letter_valid_months)


def text_problem(value, field: str, label: str, max_length: int, required: bool = True,
                 multiline: bool = False) -> list[tuple[str, str]]:
    value = (value or "").strip()
    if not value:
        return [(field, f"{label}：必填")] if required else []
    if len(value) > max_length:
        return [(field, f"{label}：过长（最多 {max_length} 个字）")]
    if problem := unsafe_characters_problem(value, label, multiline=multiline):
        return [(field, problem)]
    return []


def date_problem(day, field: str, label: str, today: dt.date, *, not_before: dt.date | None = None,
                 before_label: str = "") -> list[tuple[str, str]]:
    if not isinstance(day, dt.date):
        return [(field, f"{label}：必填（格式：2026-01-31）")]
    if day > today:
        return [(field, f"{label}：{day:%Y-%m-%d} 晚于今天，不能填写将来的日期")]
    if problem := periods.history_problem(day, label):
        return [(field, problem)]
    if not_before is not None and day < not_before:
        return [(field, f"{label}：{day:%Y-%m-%d} 早于{before_label}（{not_before:%Y-%m-%d}）")]
    return []


def letter_problems(*, letter_number, issued_on, valid_days, today: dt.date,
                    not_before: dt.date | None = None) -> list[tuple[str, str]]:
    out = text_problem(letter_number, "letter_number", "介绍信编号", 40)
    out += date_problem(issued_on, "issued_on", "开具日期", today, not_before=not_before,
                        before_label="党员在本组织的起始日期")
    if valid_days is not None and (isinstance(valid_days, bool) or not isinstance(valid_days, int)
                                   or not 1 <= valid_days <= MAX_VALID_DAYS):
        out.append(("valid_days", f"有效期：应为 1 到 {MAX_VALID_DAYS} 天（不填按 {rules().letter_valid_months} 个月）"))
    return out


def member_problem(member: Member) -> list[tuple[str, str]]:
    if member.status != Member.Status.ACTIVE:
        return [("member", f"“{member.name}”{member.get_status_display()}，不是在册党员，不能转接组织关系")]
    return []


def destination_problems(member: Member, to_org: Organization | None) -> list[tuple[str, str]]:
    if to_org is None:
        return [("to_org", "接收党组织：必填")]
    if to_org.pk == member.org_id:
        return [("to_org", f"接收党组织：“{to_org.name}”就是“{member.name}”现在所在的党组织，不需要转接")]
    if to_org.status != Organization.Status.ACTIVE:
        return [("to_org", f"接收党组织：“{to_org.name}”已撤销，不能接收党员")]
    if problem := org_checks.member_org_problem(to_org.kind, to_org.name):
        return [("to_org", f"接收党组织：{problem}")]
    return []


def approver_problems(member: Member, approver: Organization | None, meeting_on, approved_on,
                      today: dt.date) -> list[tuple[str, str]]:
    """A decision of the branch meeting approved by a higher organization (党章第九条)."""
    out = date_problem(meeting_on, "meeting_on", "支部党员大会日期", today)
    if approver is None:
        out.append(("approver", "批准党组织：必填（党员所在党组织的上级党组织）"))
    elif not (member.org.path.startswith(approver.path) and approver.pk != member.org_id):
        out.append(("approver", f"批准党组织：“{approver.name}”不是“{member.org.name}”的上级党组织"))
    elif approver.status != Organization.Status.ACTIVE:
        out.append(("approver", f"批准党组织：“{approver.name}”已撤销"))
    out += date_problem(approved_on, "approved_on", "批准日期", today,
                        not_before=meeting_on if isinstance(meeting_on, dt.date) else None,
                        before_label="支部党员大会日期")
    return out
