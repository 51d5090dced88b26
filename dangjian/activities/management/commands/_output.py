"""Output shared by the organizational-life commands: JSON, CSV or an aligned table."""
import csv
import datetime as dt
import io
import json
import unicodedata

from django.core.management.base import CommandError
from django.utils import timezone


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(rows: list[tuple]) -> str:
    """A plain table that lines up in a terminal even with Chinese text (double-width)."""
    widths = [max(width(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for j, row in enumerate(rows):
        out.append("  ".join(str(c) + " " * (w - width(str(c))) for c, w in zip(row, widths)).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


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
