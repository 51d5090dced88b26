"""Working days: the platform's calendar against the bundled holiday data day by day, the
commands' contract (`dangjian workdays add 2026-09-30 5` → 2026-10-13), a year not entered
refused, a year entered by the working committee, and bad input."""
import datetime as dt
import io
import random

import chinese_calendar
import pytest
from chinese_calendar.constants import holidays as LIBRARY_HOLIDAYS
from django.core.management import call_command
from django.core.management.base import CommandError

from dangjian.core import workdays
from dangjian.core.models import CalendarDay, CalendarYear

LAST_KNOWN = max(d.year for d in LIBRARY_HOLIDAYS)


def reference_between(a: dt.date, b: dt.date) -> int:
    """Counted with the bundled data's own answer for each day."""
    return sum(chinese_calendar.is_workday(a + dt.timedelta(days=i)) for i in range(1, (b - a).days + 1))


def run(*args) -> str:
    out = io.StringIO()
    call_command("workdays", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_calendar_is_the_bundled_data_day_by_day():
    assert CalendarYear.objects.filter(source="library").count() == LAST_KNOWN - min(d.year for d in LIBRARY_HOLIDAYS) + 1
    for year in (LAST_KNOWN - 2, LAST_KNOWN - 1, LAST_KNOWN):
        day = dt.date(year, 1, 1)
        while day.year == year:
            assert workdays.is_workday(day) == chinese_calendar.is_workday(day), day
            day += dt.timedelta(days=1)
    rng = random.Random(11)
    start = dt.date(LAST_KNOWN - 2, 1, 1)
    for _ in range(200):
        a = start + dt.timedelta(days=rng.randint(0, 600))
        b = a + dt.timedelta(days=rng.randint(0, 300))
        if b.year > LAST_KNOWN:
            continue
        n = workdays.between(a, b)
        assert n == reference_between(a, b), (a, b)
        end = workdays.add(a, n)
        # The n-th working day after a is b itself, or the last working day before it.
        assert end <= b and workdays.between(a, end) == n
        assert end == b or not any(workdays.is_workday(end + dt.timedelta(days=i)) for i in range(1, (b - end).days + 1))


@pytest.mark.django_db
def test_the_commands_contract_around_national_day_and_the_spring_festival():
    assert run("add", "2026-09-30", "5") == "2026-10-13\n"  # 10月1—7日放假, 10月10日（周六）上班
    assert run("between", "2026-09-30", "2026-10-13") == "5\n"
    assert run("add", "2026-02-13", "1") == "2026-02-14\n"  # 2月14日（周六）调休上班
    assert run("add", "2026-10-13", "0") == "2026-10-13\n"
    for args, message in [
        (("add", "2026-9-30", "5"), "开始日期应为 YYYY-MM-DD"),
        (("add", "2026-09-30", "-1"), "工作日天数应为非负整数"),
        (("add", "2026-09-30", "1001"), "工作日天数应为 0 到 1000"),
        (("between", "2026-10-13", "2026-09-30"), "早于开始日期"),
        (("add", f"{LAST_KNOWN}-12-30", "10"), f"{LAST_KNOWN + 1} 年的节假日和调休安排尚未录入"),
        (("between", f"{LAST_KNOWN}-12-30", f"{LAST_KNOWN + 1}-01-05"), f"{LAST_KNOWN + 1} 年的节假日和调休安排尚未录入"),
    ]:
        with pytest.raises(CommandError, match=message) as err:
            run(*args)
        assert err.value.returncode == 2


@pytest.mark.django_db
def test_a_year_the_data_does_not_know_is_entered_from_the_notice():
    year = LAST_KNOWN + 1
    holidays = f"{year}-01-01 至 {year}-01-03 元旦；{year}-10-01 至 {year}-10-07 国庆节"
    # Bad input: a message, nothing written.
    for kw, message in [
        (dict(holidays=holidays, workdays="", notice=""), "依据：必填"),
        (dict(holidays="", workdays="", notice="通知"), "放假安排：至少填写一行"),
        (dict(holidays=f"{year}/10/01 国庆节", workdays="", notice="通知"), "放假安排第 1 行"),
        (dict(holidays=f"{year}-02-30 春节", workdays="", notice="通知"), "日期不存在"),
        (dict(holidays=f"{year - 1}-10-01 国庆节", workdays="", notice="通知"), f"日期应在 {year} 年内"),
        (dict(holidays=holidays, workdays=f"{year}-10-02 国庆节", notice="通知"), "既填为放假又填为调休上班"),
    ]:
        with pytest.raises(workdays.WorkdayError, match=message):
            workdays.enter_year(None, year, **kw)
    monday = next(dt.date(year, 9, d) for d in range(1, 8) if dt.date(year, 9, d).weekday() == 0)
    with pytest.raises(workdays.WorkdayError, match="调休上班日应为周六或周日"):
        workdays.enter_year(None, year, holidays=holidays, workdays=f"{monday:%Y-%m-%d}", notice="通知")
    assert not CalendarYear.objects.filter(year=year).exists() and not CalendarDay.objects.filter(day__year=year).exists()

    saturday = next(dt.date(year, 9, d) for d in range(20, 30) if dt.date(year, 9, d).weekday() == 5)
    out = run("year", str(year), "--holidays", holidays, "--workdays", f"{saturday:%Y-%m-%d} 国庆节",
              "--notice", f"国务院办公厅关于{year}年部分节假日安排的通知")
    assert out.startswith(f"已录入 {year} 年")
    assert workdays.is_workday(saturday) and not workdays.is_workday(dt.date(year, 10, 4) if dt.date(year, 10, 4).weekday() < 5
                                                                       else dt.date(year, 10, 5))
    # Every day of the year against a reference built from the entered lines.
    off = {dt.date(year, 1, d) for d in (1, 2, 3)} | {dt.date(year, 10, d) for d in range(1, 8)}
    day, count = dt.date(year, 1, 1), 0
    while day.year == year:
        expected = day == saturday or (day.weekday() < 5 and day not in off)
        assert workdays.is_workday(day) == expected, day
        count += expected
        day += dt.timedelta(days=1)
    assert workdays.between(dt.date(year - 1, 12, 31), dt.date(year, 12, 31)) == count
    # The seeding after a migrate never replaces a year the committee entered.
    weekday = next(dt.date(LAST_KNOWN, 6, d) for d in range(1, 8) if dt.date(LAST_KNOWN, 6, d).weekday() < 5)
    assert chinese_calendar.is_workday(weekday)
    entered = workdays.enter_year(None, LAST_KNOWN, holidays=f"{weekday:%Y-%m-%d} 测试", workdays="", notice="本地")
    workdays.seed_from_library()
    assert CalendarYear.objects.get(year=LAST_KNOWN).source == entered.source == "entered"
    assert not workdays.is_workday(weekday)


@pytest.mark.django_db
def test_the_committee_enters_a_year_on_its_page(tree, personas):
    from tests.factories import login
    from tests.factories import page_text as text

    year = LAST_KNOWN + 1
    staff = login(personas["wc_admin"])
    page = text(staff.get("/calendar/holidays/"))
    assert f'<a href="?year={LAST_KNOWN}">{LAST_KNOWN}</a>' in page and "平台随附的节假日数据" in page
    assert 'data-day="2026-10-01"' in text(staff.get("/calendar/holidays/?year=2026"))
    assert "该年度的安排尚未录入" in text(staff.get(f"/calendar/holidays/?year={year}"))
    bad = staff.post("/calendar/holidays/", {"year": str(year), "notice": "通知", "holidays": f"{year}-13-01 国庆节"})
    assert bad.status_code == 400 and "放假安排第 1 行" in text(bad) and not CalendarYear.objects.filter(year=year).exists()
    r = staff.post("/calendar/holidays/", {"year": str(year), "notice": f"国务院办公厅关于{year}年部分节假日安排的通知",
                                           "holidays": f"{year}-10-01 至 {year}-10-07 国庆节", "workdays": ""})
    assert r.status_code == 302
    assert CalendarYear.objects.get(year=year).entered_by == personas["wc_admin"]
    assert workdays.between(dt.date(year, 9, 30), dt.date(year, 10, 7)) == 0
    from dangjian.core.models import AuditEntry
    assert AuditEntry.objects.filter(table="core.calendaryear", user=personas["wc_admin"]).exists()
    # Everyone else: 404 (the page is the working committee's).
    for who in ("unit_admin_a", "leader", "member_a"):
        assert login(personas[who]).get("/calendar/holidays/").status_code == 404
