"""Output shared by the organizational-life commands: JSON, CSV or an aligned table."""
import csv
import datetime as dt
import io
import json

from django.core.management.base import CommandError
from django.utils import timezone

from dangjian.core.text import terminal_table as table  # noqa: F401 (used by the commands)


def to_json(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1)


def to_csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().rstrip("\n")


def today_arg(value: str | None) -> dt.date:
    if not value:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today 应为 YYYY-MM-DD 格式的日期，收到“{value}”", returncode=2) from None


def org_arg(code: str | None):
    from dangjian.orgs.models import Organization

    if not code:
        return None
    org = Organization.objects.filter(code=code.strip()).first()
    if org is None:
        raise CommandError(f"--org：组织代码“{code}”不存在", returncode=2)
    return org
