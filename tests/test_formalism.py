"""Formalism signals (形式主义提示): planted cases of each kind are found, look-alikes are not;
the page's summary by unit against a reference count, its drill-down and who sees which signals;
the stored signals and their refresh after a change; the export; the command's output; a page
whose query count does not grow with data."""
import datetime as dt
import io
import json
import random
import re
import threading
import time

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.activities import formalism
from dangjian.activities import services as acts
from dangjian.activities.models import Activity, FormalismSignal, FormalismYear
from dangjian.core.audit import EXPORT_TABLE
from dangjian.core.cli import table, to_json
from dangjian.core.models import AuditEntry, Job
from dangjian.core.similarity import STANDARD_FORMULATIONS, normalize
from dangjian.orgs.models import Organization
from tests.factories import branch_with, login, original
from tests.factories import record as _record

YEAR = 2025
TODAY = dt.date(YEAR, 12, 31)
START, END = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
# What every branch's minutes open with: shared by more than `common_docs` (10) records below,
# so the engine learns it is a formulation, not a copy.
BOILERPLATE = ("会议由支部书记主持。会上通报了本月支部工作情况，对下一步重点工作作了安排。会议强调，要坚持学用结合，"
               "把理论学习同做好本职工作结合起来。支部书记就近期党风廉政建设提出了具体要求。")


def record(org, day, *, entered=None, kinds=("theme_day",), **kw):
    """A record held on `day`, entered on `entered` (the platform's recorded_at, set afterwards
    as a record entered that day would have it)."""
    kw.setdefault("topic", f"主题党日{day:%m%d}")
    a = _record(org, list(kinds), day, today=TODAY, **kw)
    when = dt.datetime.combine(entered or day, dt.time(10, 0), tzinfo=timezone.get_current_timezone())
    Activity.objects.filter(pk=a.pk).update(recorded_at=when)
    return a


def signals(kind=None, org=None, **thresholds):
    t = formalism.Thresholds.from_defaults(**thresholds)
    return [s for s in formalism.compute(START, END, org=org, thresholds=t) if kind is None or s.kind == kind]


def ids(found) -> list[list[int]]:
    return [s.activity_ids for s in found]



def page(client, query=""):
    r = client.get(f"/activities/formalism/?year={YEAR}{query}")
    return r, r.content.decode()


# ---- late entry -------------------------------------------------------------------------------

def test_record_entered_more_than_30_days_late_is_flagged_25_or_30_days_is_not(tree):
    b = branch_with(tree["a"], full=3, code="CZ02")
    late = record(b, dt.date(YEAR, 3, 2), entered=dt.date(YEAR, 4, 3))  # 32 days
    record(b, dt.date(YEAR, 3, 9), entered=dt.date(YEAR, 4, 3))  # 25 days
    record(b, dt.date(YEAR, 3, 4), entered=dt.date(YEAR, 4, 3))  # 30 days: not more than 30
    record(b, dt.date(YEAR, 5, 6))  # same day
    # A historical import is entered late by nature.
    record(b, dt.date(YEAR, 1, 5), entered=dt.date(YEAR, 6, 1), source=Activity.Source.IMPORTED)
    withdrawn = record(b, dt.date(YEAR, 2, 2), entered=dt.date(YEAR, 6, 1))
    Activity.objects.filter(pk=withdrawn.pk).update(status=Activity.Status.WITHDRAWN)

    (s,) = signals("late")
    assert s.activity_ids == [late.pk] and s.org_code == "CZ02"
    assert s.figures == {"held_on": f"{YEAR}-03-02", "recorded_on": f"{YEAR}-04-03", "days_late": 32}
    assert "32 天" in s.message and "请核实" in s.message
    # The threshold is the rule's, from defaults.yaml, and can be changed.
    assert formalism.Thresholds.from_defaults().late_entry_days == 30
    assert len(signals("late", late_entry_days=20)) == 3


def test_late_is_judged_on_the_local_date_of_recorded_at(tree):
    """Entered at 00:30 Beijing time on day 31 is day 31, though it is still day 30 in UTC."""
    b = branch_with(tree["a"], full=3)
    a = record(b, dt.date(YEAR, 3, 1))
    local = dt.datetime(YEAR, 4, 1, 0, 30, tzinfo=timezone.get_current_timezone())  # 31 days after
    Activity.objects.filter(pk=a.pk).update(recorded_at=local)
    assert ids(signals("late")) == [[a.pk]]


# ---- bursts at period end ---------------------------------------------------------------------

def test_records_of_several_months_entered_in_the_last_days_of_a_quarter_are_a_burst(tree):
    b = branch_with(tree["b"], full=3, code="JY02")
    burst = [record(b, dt.date(YEAR, 1, 10), entered=dt.date(YEAR, 3, 28), topic="一月主题党日"),
             record(b, dt.date(YEAR, 2, 12), entered=dt.date(YEAR, 3, 31), topic="二月主题党日"),
             record(b, dt.date(YEAR, 3, 3), entered=dt.date(YEAR, 3, 30), topic="三月主题党日")]
    # Not a burst: three meetings of one month entered at its end; two records only; a meeting
    # held inside the window and entered the same week.
    for day in (2, 9, 16):
        record(b, dt.date(YEAR, 6, day), entered=dt.date(YEAR, 6, 28))
    record(b, dt.date(YEAR, 7, 3), entered=dt.date(YEAR, 9, 29))
    record(b, dt.date(YEAR, 8, 3), entered=dt.date(YEAR, 9, 29))
    record(b, dt.date(YEAR, 9, 27), entered=dt.date(YEAR, 9, 29))
    # Entered on the day before the window opens (March 26 = 31 − 5): not in the window.
    other = branch_with(tree["b"], full=3)
    for month in (1, 2, 3):
        record(other, dt.date(YEAR, month, 5), entered=dt.date(YEAR, 3, 26))

    (s,) = signals("burst")
    assert s.org_code == "JY02" and s.activity_ids == [a.pk for a in burst]
    assert s.figures == {"period": f"{YEAR}-03", "quarter_end": True, "window_start": f"{YEAR}-03-27",
                         "window_end": f"{YEAR}-03-31", "records_count": 3,
                         "months": [f"{YEAR}-01", f"{YEAR}-02", f"{YEAR}-03"]}
    assert "季度末" in s.message and "请核实" in s.message
    assert ids(signals("burst", burst_min_records=4)) == []


# ---- copied minutes -----------------------------------------------------------------------------

@pytest.fixture
def minutes_corpus(tree):
    """Twelve meetings in four branches of two units, every one opening with the same
    boilerplate and going on with its own text; one record in 教育局 repeats a paragraph of a
    財政局 record, one 財政局 record repeats its own branch's earlier minutes."""
    rng = random.Random(11)
    cz = [branch_with(tree["a"], full=3, code=f"CZ1{i}") for i in range(2)]
    jy = [branch_with(tree["b"], full=3, code=f"JY1{i}") for i in range(2)]
    texts, records = {}, {}
    for n, org in enumerate(cz + jy):
        for month in (2, 4, 6):
            text = BOILERPLATE + "\n" + original(rng, 400)
            a = record(org, dt.date(YEAR, month, 10 + n), minutes=text)
            texts[a.pk], records[(org.code, month)] = text, a
    source = records[("CZ10", 4)]
    start = texts[source.pk].index("\n") + 40
    paragraph = texts[source.pk][start:start + 150]
    copier_text = BOILERPLATE + "\n" + original(rng, 200) + paragraph + original(rng, 200)
    copier = record(jy[1], dt.date(YEAR, 4, 20), entered=dt.date(YEAR, 4, 21), minutes=copier_text)
    own_source = records[("CZ11", 2)]
    own_paragraph = texts[own_source.pk][texts[own_source.pk].index("\n") + 1:][:120]
    repeat_text = BOILERPLATE + original(rng, 150) + "\n" + own_paragraph
    repeat = record(cz[1], dt.date(YEAR, 8, 8), minutes=repeat_text)
    return {"cz": cz, "jy": jy, "source": source, "paragraph": paragraph, "copier": copier,
            "own_source": own_source, "own_paragraph": own_paragraph, "repeat": repeat}


def test_copied_paragraph_is_found_with_passages_in_both_records(minutes_corpus):
    c = minutes_corpus
    found = signals("copied_minutes")
    assert sorted(ids(found)) == sorted([[c["copier"].pk, c["source"].pk], [c["repeat"].pk, c["own_source"].pk]])
    s = next(s for s in found if s.activity_ids[0] == c["copier"].pk)
    # The signal belongs to the record entered later; the other side names its org.
    assert (s.org_code, s.figures["other_org_code"]) == ("JY11", "CZ10")
    assert "CZ10" not in s.org_path and "请核实" in s.message
    mine = Activity.objects.get(pk=c["copier"].pk).minutes
    theirs = Activity.objects.get(pk=c["source"].pk).minutes
    (p,) = s.figures["passages"]
    assert normalize(mine[p["a_start"]:p["a_end"]]) == normalize(theirs[p["b_start"]:p["b_end"]])
    assert normalize(c["paragraph"])[5:-5] in normalize(mine[p["a_start"]:p["a_end"]])
    assert s.figures["copied_chars"] >= 100
    own = next(s for s in found if s.activity_ids[0] == c["repeat"].pk)
    assert own.org_code == own.figures["other_org_code"] == "CZ11"
    assert "本组织" in own.message


def test_records_sharing_only_standard_formulations_are_not_copies(minutes_corpus):
    """The boilerplate (~90 characters, in 14 records of four branches) is longer than any
    passage the engine reports, yet is learned as a formulation from how many records hold it;
    the background formulations are never credited, even between just two records."""
    c = minutes_corpus
    found = signals("copied_minutes")
    assert all(c["copier"].pk in s.activity_ids or c["repeat"].pk in s.activity_ids for s in found)
    # Two more branches whose minutes share only the background formulations (well over 50
    # characters of them) and the 会议由支部书记主持 of everybody.
    rng = random.Random(3)
    shared = "会议由支部书记主持。" + "，".join(STANDARD_FORMULATIONS[:6]) + "。"
    assert len(normalize(shared)) > 150
    extra = [record(org, dt.date(YEAR, 10, 9), minutes=shared + original(rng, 300), topic="学习")
             for org in c["cz"][:1] + c["jy"][:1]]
    again = signals("copied_minutes")
    assert not any(set(s.activity_ids) & {a.pk for a in extra} for s in again)
    assert len(again) == 2


def test_a_subtree_sees_the_copy_it_made_not_the_one_made_of_it(minutes_corpus, tree):
    c = minutes_corpus
    in_b = signals("copied_minutes", org=tree["b"])
    assert ids(in_b) == [[c["copier"].pk, c["source"].pk]]
    in_a = signals("copied_minutes", org=tree["a"])
    assert ids(in_a) == [[c["repeat"].pk, c["own_source"].pk]]


# ---- identical attendance lists ---------------------------------------------------------------

def test_identical_lists_with_absentees_in_a_large_branch_are_flagged(tree):
    big = branch_with(tree["a"], full=16, code="CZ20")
    small = branch_with(tree["a"], full=6, code="CZ21")

    def listed(org, away):
        rows = {m.pk: "present" for m in org.people}
        rows.update({org.people[i].pk: (status, "出差" if status == "excused" else "") for i, status in away})
        return rows

    same = listed(big, [(3, "absent"), (5, "excused")])
    planted = [record(big, dt.date(YEAR, m, 12), attendance=same) for m in (3, 5, 9)]
    # Not flagged: everybody present at four meetings (such lists repeat by nature); the same
    # list with absentees at only two meetings; a small branch's identical lists.
    for m in (2, 4, 6, 8):
        record(big, dt.date(YEAR, m, 20), attendance=listed(big, []))
    twice = listed(big, [(1, "absent"), (2, "absent")])
    for m in (7, 10):
        record(big, dt.date(YEAR, m, 3), attendance=twice)
    small_same = [record(small, dt.date(YEAR, m, 12), attendance=listed(small, [(1, "absent"), (2, "excused")]))
                  for m in (3, 5, 9)]
    # Same list and day twice (a duplicate entry of one meeting) does not make a third meeting.
    dup = listed(big, [(7, "absent"), (8, "absent")])
    record(big, dt.date(YEAR, 11, 3), attendance=dup, topic="甲")
    record(big, dt.date(YEAR, 11, 3), attendance=dup, topic="乙")
    record(big, dt.date(YEAR, 11, 17), attendance=dup)

    (s,) = signals("same_attendance")
    assert s.org_code == "CZ20" and s.activity_ids == [a.pk for a in planted]
    assert s.figures == {"meetings": 3, "listed": 16, "away": 2, "present": 14,
                         "dates": [f"{YEAR}-03-12", f"{YEAR}-05-12", f"{YEAR}-09-12"]}
    assert "请核实" in s.message
    # One member's status differs at one meeting: no longer the same list.
    other = dict(same)
    other[big.people[0].pk] = ("excused", "病假")
    record(big, dt.date(YEAR, 12, 1), attendance=other)
    assert ids(signals("same_attendance")) == [[a.pk for a in planted]]
    # With a lower bar for "large", the small branch's lists are flagged too.
    assert ids(signals("same_attendance", same_attendance_min_members=6)) == [
        [a.pk for a in planted], [a.pk for a in small_same]]


# ---- the page: a summary by unit, drilling down to the signals ----------------------------------

@pytest.fixture
def both_units(tree, minutes_corpus):
    """A late record in 财政局, a burst in 教育局, and the copies of `minutes_corpus`."""
    late_branch = branch_with(tree["a"], full=3, code="CZ30", name="财政局补录党支部")
    late = record(late_branch, dt.date(YEAR, 3, 2), entered=dt.date(YEAR, 5, 3))
    burst_branch = branch_with(tree["b"], full=3, code="JY30", name="教育局集中录入党支部")
    burst = [record(burst_branch, dt.date(YEAR, m, 5), entered=dt.date(YEAR, 6, 29)) for m in (4, 5, 6)]
    return {"late": late, "burst": burst, **minutes_corpus}


def table_of(text) -> dict[tuple[str, bool], list[int]]:
    """The summary table: {(org code, own row): [late, burst, copied, same attendance, total]}."""
    rows = {}
    for code, own, body in re.findall(r'<tr class="unit" data-org="([^"]*)" data-own="(\d)">(.*?)</tr>', text, re.S):
        rows[(code, own == "1")] = [int(re.sub(r"<[^>]+>", "", cell).strip())
                                    for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
    return rows


def reference(found, units: dict[str, str]) -> dict[tuple[str, bool], list[int]]:
    """The same table counted from a fresh computation: `units` maps each row's org path to its
    code (a row counts its org's whole subtree)."""
    out = {}
    for path, code in units.items():
        counts = [sum(1 for s in found if s.kind == k and s.org_path.startswith(path)) for k in formalism.KINDS]
        out[(code, False)] = [*counts, sum(counts)]
    return out


def test_the_page_opens_on_a_summary_by_unit_that_matches_a_reference_count(both_units, personas, tree):
    found = formalism.compute(START, END)
    assert {s.kind for s in found} == {"late", "burst", "copied_minutes"}
    for who in ("wc_admin", "leader"):
        r, text = page(login(personas[who]))
        assert r.status_code == 200
        # One row per unit under the 工委 (each unit's whole subtree), nothing of the cards yet.
        assert table_of(text) == reference(found, {tree["a"].path: "CZ", tree["b"].path: "JY"})
        assert "市财政局机关党委" in text and "市教育局机关党委" in text
        assert 'class="card mb-3 signal"' not in text
        late = sum(s.kind == "late" for s in found)
        assert re.search(rf'data-kind="late"[^>]*>录入滞后 {late}<', text)
        assert re.search(rf'>全部 {len(found)}<', text)
        assert f'<td class="total">{len(found)}</td>' in text
    # Drilling into 财政局: a row per branch, with the same counts as the reference.
    _, text = page(login(personas["wc_admin"]), "&org=CZ")
    branches = {o.path: o.code for o in Organization.objects.filter(parent=tree["a"])}
    expected = reference(found, branches)
    assert table_of(text) == expected
    assert expected[("CZ30", False)][0] == 1 and expected[("CZ11", False)][2] == 1
    assert "财政局补录党支部" in text and "教育局集中录入党支部" not in text
    assert 'href="?year=2025&amp;org=CZ30"' in text  # the row's drill-down
    assert 'href="?year=2025&amp;org=CZ30&amp;kind=late"' in text  # a count lists those signals


def test_the_chart_draws_the_tables_figures_and_names_stay_text(both_units, personas, tree):
    odd = branch_with(tree["a"], full=3, code="CZ60", name='<img src=x onerror="alert(1)">支部')
    record(odd, dt.date(YEAR, 2, 2), entered=dt.date(YEAR, 5, 2))
    _, text = page(login(personas["wc_admin"]), "&org=CZ")
    data = json.loads(re.search(r'<script id="formalism-data" type="application/json">(.*?)</script>', text,
                                re.S).group(1))
    table = table_of(text)
    assert data["kinds"] == list(formalism.KINDS.values())
    assert len(data["units"]) == len([v for v in table.values() if v[-1]])
    for i, code in enumerate(data["codes"]):
        assert [series[i] for series in data["series"]] == table[(code, data["own"][i])][:4]
    assert [sum(x[i] for x in data["series"]) for i in range(len(data["codes"]))] == \
        sorted((v[-1] for v in table.values() if v[-1]), reverse=True)
    assert '<img src=x' not in text and "&lt;img src=x" in text
    assert '<script src="/static/js/formalism.js"></script>' in text
    assert "<script>" not in text.replace('<script id="formalism-data" type="application/json">', "")


def test_drilling_down_to_a_branch_shows_its_signal_cards_with_evidence(both_units, personas):
    d = both_units
    c = login(personas["wc_admin"])
    _, text = page(c, "&org=CZ30")
    assert 'signal" data-kind="late"' in text and f'href="/activities/{d["late"].pk}/"' in text
    assert "62 天" in text and "请核实" in text
    # Breadcrumbs lead back up the tree.
    assert '>示例市直机关工委</a>' in text and '>市财政局机关党委</a>' in text
    # Any level lists its signals on request (a kind, or list=1), the copies side by side.
    _, text = page(c, "&kind=copied_minutes")
    assert 'signal" data-kind="late"' not in text and 'signal" data-kind="copied_minutes"' in text
    assert text.count('<mark class="copied" data-passage="1"') == 4
    assert f'href="/activities/{d["source"].pk}/"' in text and f'href="/activities/{d["copier"].pk}/"' in text
    _, text = page(c, "&list=1")
    for kind in ("late", "burst", "copied_minutes"):
        assert f'signal" data-kind="{kind}"' in text
    assert f'href="/activities/{d["late"].pk}/"' in text
    assert all(f'href="/activities/{a.pk}/"' in text for a in d["burst"])
    assert "财政局补录党支部" in text and "教育局集中录入党支部" in text


def test_a_units_own_records_are_a_row_of_their_own(both_units, personas, tree):
    own = record(tree["a"], dt.date(YEAR, 2, 1), entered=dt.date(YEAR, 4, 1), kinds=("party_lecture",),
                 topic="机关党委党课")
    c = login(personas["wc_admin"])
    _, text = page(c, "&org=CZ")
    assert table_of(text)[("CZ", True)] == [1, 0, 0, 0, 1]
    assert "市财政局机关党委（本级）" in text
    _, text = page(c, "&org=CZ&own=1")
    assert f'href="/activities/{own.pk}/"' in text and f'href="/activities/{both_units["late"].pk}/"' not in text


def test_unit_admin_sees_only_own_subtree_and_not_the_other_side_of_a_copy(both_units, personas):
    d = both_units
    c = login(personas["unit_admin_b"])
    r, text = page(c)
    assert r.status_code == 200
    assert "教育局集中录入党支部" in text and "财政局补录党支部" not in text
    assert ("JY30", False) in table_of(text) and not any(code.startswith("CZ") for code, _ in table_of(text))
    r, text = page(c, "&list=1")
    assert "教育局集中录入党支部" in text and "财政局补录党支部" not in text
    assert f'href="/activities/{d["late"].pk}/"' not in text
    # 教育局's record copied a 财政局 record: the signal is 教育局's, the source stays hidden.
    assert f'href="/activities/{d["copier"].pk}/"' in text
    assert f'href="/activities/{d["source"].pk}/"' not in text
    assert "查看范围以外" in text and "CZ10" not in text and "市财政局" not in text
    source_text = Activity.objects.get(pk=d["source"].pk).minutes
    assert source_text[-60:] not in text
    # Asking for the other unit, or one of its branches, by code shows a message and nothing of it.
    for code in ("CZ", "CZ30"):
        for extra in ("", "&list=1", "&own=1&kind=late"):
            r, text = page(c, f"&org={code}{extra}")
            assert r.status_code == 200 and "不在您的查看范围内" in text
            assert "财政局补录党支部" not in text and "市财政局" not in text
            assert f'href="/activities/{d["late"].pk}/"' not in text

    c = login(personas["unit_admin_a"])
    _, text = page(c, "&list=1")
    assert "财政局补录党支部" in text and "教育局集中录入党支部" not in text
    assert f'href="/activities/{d["copier"].pk}/"' not in text  # the copy of its record is 教育局's signal
    assert f'href="/activities/{d["repeat"].pk}/"' in text


def test_branch_secretaries_and_members_get_404(both_units, personas):
    for who in ("secretary_a1", "member_a"):
        c = login(personas[who])
        assert c.get(f"/activities/formalism/?year={YEAR}").status_code == 404
        assert c.get(f"/activities/formalism/export.xlsx?year={YEAR}").status_code == 404
        assert c.get(f"/activities/formalism/?year={YEAR}&part=status").status_code == 404
    assert login(personas["wc_admin"]).post("/activities/formalism/").status_code == 405


def test_filters_by_kind_and_unit_and_counts_per_kind(both_units, personas):
    c = login(personas["wc_admin"])
    _, text = page(c, "&org=CZ")
    assert "财政局补录党支部" in text and "教育局集中录入党支部" not in text
    assert re.search(r'data-kind="late"[^>]*>录入滞后 1<', text)
    assert re.search(r'data-kind="burst"[^>]*>期末集中录入 0<', text)
    _, text = page(c, "&kind=burst")
    assert "教育局集中录入党支部" in text and "财政局补录党支部" not in text
    _, text = page(c, "&kind=nonsense&year=abc&page=99&own=1")  # bad input: defaults, no error page
    assert "形式主义问题提示" in text and "提示类型“nonsense”不存在" in text


# ---- the export ----------------------------------------------------------------------------

def workbook(response) -> dict[str, list[tuple]]:
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_export_has_the_summary_and_the_signals_and_is_audited(both_units, personas, tree):
    d = both_units
    found = [s for s in formalism.compute(START, END) if s.org_path.startswith(tree["a"].path)]
    c = login(personas["wc_admin"])
    sheets = workbook(c.get(f"/activities/formalism/export.xlsx?year={YEAR}&org=CZ"))
    assert list(sheets) == ["汇总", "提示明细", "说明"]
    head, *rows, total = sheets["汇总"]
    assert head == ("单位（党组织）", "组织代码", "录入滞后", "期末集中录入", "会议记录雷同", "出席名单雷同", "合计")
    branches = {o.path: o.code for o in Organization.objects.filter(parent=tree["a"])}
    assert {(r[1], False): list(r[2:]) for r in rows} == reference(found, branches)
    assert total == ("合计", None, 1, 0, 1, 0, 2)
    head, *rows = sheets["提示明细"]
    assert head == ("提示类型", "党组织", "组织代码", "所属单位", "活动日期", "录入日期", "依据记录", "说明")
    assert len(rows) == len(found) == 2
    late = next(r for r in rows if r[0] == "录入滞后")
    assert late[1:4] == ("财政局补录党支部", "CZ30", "财政局补录党支部")
    assert late[4].date() == dt.date(YEAR, 3, 2) and late[5].date() == dt.date(YEAR, 5, 3)
    assert f"记录编号 {d['late'].pk}" in late[6] and "62 天" in late[7]
    copy = next(r for r in rows if r[0] == "会议记录雷同")
    assert copy[2] == "CZ11" and "本组织" in copy[7]
    assert any("计算时间" == r[0] for r in sheets["说明"])

    entry = AuditEntry.objects.get(table=EXPORT_TABLE)
    assert entry.user == personas["wc_admin"] and entry.action == "export"
    assert entry.changes == {"kind": "formalism_signals", "count": 2, "filters": {"year": str(YEAR), "org": "CZ"}}
    assert entry.note.startswith("导出形式主义问题提示 2 条")

    # The whole scope, one kind.
    sheets = workbook(c.get(f"/activities/formalism/export.xlsx?year={YEAR}&kind=burst"))
    assert [(r[0], r[2]) for r in sheets["提示明细"][1:]] == [("期末集中录入", "JY30")]
    assert AuditEntry.objects.filter(table=EXPORT_TABLE).count() == 2


def test_export_names_nothing_outside_the_viewers_scope(both_units, personas):
    c = login(personas["unit_admin_b"])
    for query in ("&org=CZ30&kind=late", "&org=CZ", ""):
        sheets = workbook(c.get(f"/activities/formalism/export.xlsx?year={YEAR}{query}"))
        text = repr(sheets)
        assert "财政局" not in text and "CZ" not in text
        assert "教育局集中录入党支部" in text or "kind=late" in query
    copy = next(r for r in sheets["提示明细"] if r[0] == "会议记录雷同")
    assert "查看范围以外" in copy[6] and "查看范围以外" in copy[7]


# ---- stored signals, refreshed after a change -----------------------------------------------

def stored(year=YEAR) -> list[tuple]:
    return sorted((r.kind, r.org_id, tuple(i for i, *_ in r.records), r.message)
                  for r in FormalismSignal.objects.filter(year=year))


def computed(year=YEAR, **kw) -> list[tuple]:
    return sorted((s.kind, s.org_id, tuple(s.activity_ids), s.message)
                  for s in formalism.compute(dt.date(year, 1, 1), dt.date(year, 12, 31), **kw))


def test_stored_signals_are_the_computed_ones_and_a_page_does_not_recompute_them(both_units, personas):
    assert FormalismYear.objects.filter(year=YEAR).count() == 0
    result = formalism.refresh_year(YEAR)
    assert result["runs"] == 1 and result["signals"] == len(computed())
    assert stored() == computed()
    state = FormalismYear.objects.get(year=YEAR)
    assert state.stamp == formalism.stamp(YEAR) and state.refreshing_since is None
    # Nothing changed: a second refresh does nothing, a page reads what is stored.
    assert formalism.refresh_year(YEAR)["runs"] == 0
    with CaptureQueriesContext(connection) as q:
        page(login(personas["wc_admin"]))
    assert not any("activities_attendance" in x["sql"] for x in q.captured_queries)
    assert not any("minutes" in x["sql"] and "activities_activity" in x["sql"] for x in q.captured_queries)


def test_saving_a_record_refreshes_the_stored_signals(both_units, personas, django_capture_on_commit_callbacks):
    formalism.refresh_year(YEAR)
    org = both_units["late"].org
    with django_capture_on_commit_callbacks(execute=True):
        # Entered now (recorded_at is the platform's), long after the meeting: a late entry.
        new = _record(org, ["theme_day"], dt.date(YEAR, 4, 1), today=TODAY, topic="新补录")
    assert any(r[0] == "late" and r[2] == (new.pk,) for r in stored())
    assert stored() == computed()
    assert FormalismYear.objects.get(year=YEAR).stamp == formalism.stamp(YEAR)
    job = Job.objects.filter(kind="formalism").latest("pk")
    assert job.status == "done" and job.result["years"][0]["year"] == YEAR
    assert job.result["years"][0]["local_signals"] is not None and job.result["years"][0]["runs"] == 1
    # A copy of another unit's minutes, saved through the service, is stored as well.
    source = both_units["source"]
    with django_capture_on_commit_callbacks(execute=True):
        copy = _record(both_units["jy"][0], ["theme_day"], dt.date(YEAR, 9, 1), today=TODAY, topic="照抄",
                       minutes=BOILERPLATE + "\n" + Activity.objects.get(pk=source.pk).minutes[200:420])
    assert any(r[0] == "copied_minutes" and r[2] == (copy.pk, source.pk) for r in stored())
    # Withdrawn: its signals go.
    with django_capture_on_commit_callbacks(execute=True):
        acts.withdraw_activity(None, new, "重复录入")
    assert not any(new.pk in r[2] for r in stored())
    assert stored() == computed()
    _, text = page(login(personas["wc_admin"]), "&list=1")
    assert f'href="/activities/{copy.pk}/"' in text and f'href="/activities/{new.pk}/"' not in text


def test_a_record_moved_to_another_year_is_refreshed_in_both(both_units, django_capture_on_commit_callbacks):
    late = both_units["late"]
    for year in (YEAR - 1, YEAR):
        formalism.refresh_year(year)
    assert any(r[2] == (late.pk,) for r in stored(YEAR)) and stored(YEAR - 1) == []
    with django_capture_on_commit_callbacks(execute=True):
        acts.update_activity(None, late, held_on=dt.date(YEAR - 1, 12, 1), today=TODAY)
    assert not any(late.pk in r[2] for r in stored(YEAR)) and stored(YEAR) == computed(YEAR)
    assert [r[:3] for r in stored(YEAR - 1)] == [("late", late.org_id, (late.pk,))]
    assert stored(YEAR - 1) == computed(YEAR - 1)
    job = Job.objects.filter(kind="formalism").latest("pk")
    assert [y["year"] for y in job.result["years"]] == [YEAR - 1, YEAR]


def test_while_a_refresh_holds_the_year_the_changed_orgs_are_updated_at_once(
        both_units, django_capture_on_commit_callbacks):
    """Step 1 (the per-org kinds of the orgs a change touched) does not wait for step 2."""
    formalism.refresh_year(YEAR)
    FormalismYear.objects.filter(year=YEAR).update(refreshing_since=timezone.now())
    org = both_units["late"].org
    with django_capture_on_commit_callbacks(execute=True):
        new = _record(org, ["theme_day"], dt.date(YEAR, 5, 1), today=TODAY, topic="又一条补录")
    assert any(r[0] == "late" and r[2] == (new.pk,) for r in stored())
    assert [r for r in stored() if r[0] in formalism.LOCAL_KINDS] == \
        [r for r in computed() if r[0] in formalism.LOCAL_KINDS]
    job = Job.objects.filter(kind="formalism").latest("pk")
    assert job.result["years"][0]["runs"] == 0  # the whole year was left to the refresh holding it
    assert FormalismYear.objects.get(year=YEAR).stamp != formalism.stamp(YEAR)


def test_a_page_never_computes_the_year_it_shows_the_last_result_while_updating(
        both_units, personas, monkeypatch):
    formalism.refresh_year(YEAR)
    when = FormalismYear.objects.get(year=YEAR).computed_at
    # Another refresh holds the year (in production, a background job started by the save).
    FormalismYear.objects.filter(year=YEAR).update(refreshing_since=timezone.now())
    new = record(both_units["late"].org, dt.date(YEAR, 4, 1), entered=dt.date(YEAR, 7, 1), topic="新补录")

    def refuse(*args, **kwargs):
        raise AssertionError("a page computed the year")

    monkeypatch.setattr(formalism, "compute", refuse)
    c = login(personas["wc_admin"])
    _, text = page(c, "&list=1")
    assert f"正在更新（截至 {timezone.localtime(when):%Y-%m-%d %H:%M}）" in text
    assert 'hx-trigger="every 2s"' in text and "part=status" in text
    assert f'href="/activities/{both_units["late"].pk}/"' in text  # the last stored result
    assert f'href="/activities/{new.pk}/"' not in text
    monkeypatch.undo()
    # The refresh lets go; the page's status poll finds the year out of date, refreshes it (in
    # the background; inline here) and says so.
    FormalismYear.objects.filter(year=YEAR).update(refreshing_since=None)
    r = c.get(f"/activities/formalism/?year={YEAR}&list=1&part=status")
    assert "提示已更新" in r.content.decode() and "every 2s" not in r.content.decode()
    _, text = page(c, "&list=1")
    assert "正在更新" not in text and f'href="/activities/{new.pk}/"' in text


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_year_wait_for_each_other(tree):
    """The whole-year refresh and the refresh of a change's orgs may store at the same moment;
    the second waits for the first to commit, so its delete sees the first one's rows (else
    PostgreSQL and MariaDB would keep both copies of a signal)."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers itself; the test database is in memory")
    FormalismYear.objects.create(year=YEAR)
    org, held = tree["a1"], threading.Event()

    def first():
        try:
            with transaction.atomic():
                formalism._store_orgs(YEAR, [org.pk], [])  # takes the year
                FormalismSignal.objects.create(year=YEAR, kind="late", org=org, held_on=dt.date(YEAR, 1, 2),
                                               first_id=1, records=[], figures={}, message="先写入的提示")
                held.set()
                time.sleep(0.5)
        finally:
            connection.close()

    t = threading.Thread(target=first)
    t.start()
    assert held.wait(10)
    began = time.monotonic()
    formalism._store_orgs(YEAR, [org.pk], [])
    t.join()
    assert time.monotonic() - began >= 0.3  # it waited
    assert not FormalismSignal.objects.filter(year=YEAR).exists()


def test_a_change_refresh_never_overwrites_a_later_whole_year(tree, monkeypatch):
    """The refresh of a change's orgs began computing; meanwhile the whole year was computed
    and stored (it read the records later). The older per-org result is not stored over it."""
    FormalismYear.objects.create(year=YEAR, computed_at=timezone.now() - dt.timedelta(hours=1))
    org = tree["a1"]
    newer = FormalismSignal(year=YEAR, kind="late", org=org, held_on=dt.date(YEAR, 1, 2), first_id=1, records=[],
                            figures={}, message="整年重算的提示")

    def compute_while_the_year_is_stored(*args, **kwargs):
        FormalismSignal.objects.bulk_create([newer])
        FormalismYear.objects.filter(year=YEAR).update(computed_at=timezone.now())
        return []  # the per-org result, computed from older records

    monkeypatch.setattr(formalism, "compute", compute_while_the_year_is_stored)
    formalism.refresh_orgs(YEAR, [org.pk])
    assert list(FormalismSignal.objects.values_list("message", flat=True)) == ["整年重算的提示"]


def test_a_year_never_computed_is_computed_by_a_job(both_units, personas):
    _, text = page(login(personas["wc_admin"]), "&list=1")  # jobs run inline in tests
    assert Job.objects.filter(kind="formalism", status="done").count() == 1
    assert stored() == computed() and f'href="/activities/{both_units["late"].pk}/"' in text


def test_page_query_count_does_not_grow_with_data(both_units, personas, tree):
    c = login(personas["wc_admin"])
    queries = ("", "&org=CZ", "&org=CZ30", "&kind=copied_minutes", "&kind=late", "&list=1")

    def count():
        for q in queries:  # brings the stored signals up to date (a job; inline in tests)
            assert c.get(f"/activities/formalism/?year={YEAR}{q}").status_code == 200
        out = []
        for q in queries:
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(f"/activities/formalism/?year={YEAR}{q}").status_code == 200
            out.append(len(ctx))
        return out

    small = count()
    rng = random.Random(5)
    more = branch_with(tree["b"], full=3, code="JY40")
    for m in range(1, 11):
        record(more, dt.date(YEAR, m, 2), entered=dt.date(YEAR, m, 2) + dt.timedelta(days=40))
    src = record(more, dt.date(YEAR, 11, 20), minutes=BOILERPLATE + original(rng, 300))
    record(tree["b1"], dt.date(YEAR, 11, 25), minutes=BOILERPLATE + src.minutes[120:330])
    for n in range(8):
        other = branch_with(tree["a"], full=3, code=f"CZ5{n}")
        record(other, dt.date(YEAR, 2, 2), entered=dt.date(YEAR, 5, 2))
    assert len(formalism.compute(START, END)) >= 25
    assert count() == small


def test_the_frame_reads_the_orgs_it_names_not_the_tree(both_units, personas, tree):
    user = personas["wc_admin"]

    def read(code=""):
        frame = formalism.Frame(user, code)
        return sorted(o.code for o in frame.orgs.values()), frame

    top, frame = read()
    assert top == ["CZ", "JY", "WC"] and [u.org.code for u in frame.units()][1:] == ["CZ", "JY"]
    for n in range(15):  # a larger tree: the top of it reads the same orgs
        branch_with(tree["a"], full=1, code=f"CZ6{n:02d}")
    assert read()[0] == top
    codes, frame = read("CZ")
    assert "WC" in codes and len([c for c in codes if c.startswith("CZ6")]) == 15 and "JY30" not in codes
    assert not frame.is_bottom and [c.code for c in frame.crumbs()] == ["WC", "CZ"]


def test_computation_runs_a_fixed_number_of_queries(both_units, tree):
    def n():
        with CaptureQueriesContext(connection) as q:
            formalism.compute(START, END)
        return len(q)

    small = n()
    assert small <= 4
    more = branch_with(tree["a"], full=16)
    for m in range(1, 13):
        record(more, dt.date(YEAR, m, 1), entered=dt.date(YEAR, m, 1) + dt.timedelta(days=35),
               attendance={p.pk: "present" for p in more.people})
    assert n() == small


# ---- the copy index: incremental == full ----------------------------------------------------------

def stored_full(year=YEAR) -> list[tuple]:
    """Everything a stored signal says, evidence and passages included."""
    return sorted((r.kind, r.org_id, json.dumps(r.records), json.dumps(r.figures, sort_keys=True), r.message)
                  for r in FormalismSignal.objects.filter(year=year))


def computed_full(year=YEAR) -> list[tuple]:
    rows = [formalism._row(year, s) for s in formalism.compute(dt.date(year, 1, 1), dt.date(year, 12, 31))]
    return sorted((r.kind, r.org_id, json.dumps(r.records), json.dumps(r.figures, sort_keys=True), r.message)
                  for r in rows)


@pytest.fixture
def small_cap(monkeypatch):
    """A cap of 6 minutes (below `common_docs`, 10): a passage circulated to seven branches becomes
    standard in a test."""
    real = formalism.Thresholds.from_defaults.__func__
    monkeypatch.setattr(formalism.Thresholds, "from_defaults",
                        classmethod(lambda cls, **kw: real(cls, **{"copy_max_docs": 6, **kw})))


def test_incremental_copies_equal_the_full_computation_over_a_sequence_of_saves(
        tree, small_cap, django_capture_on_commit_callbacks):
    rng = random.Random(42)
    branches = [branch_with(tree["a" if i % 2 else "b"], full=3, code=f"IX{i}") for i in range(6)]
    circulated = original(rng, 160)  # pasted into more and more minutes: a copy, then a formulation
    live: list = []

    def save(**kw):
        org = rng.choice(branches)
        day = dt.date(YEAR, rng.randint(1, 12), rng.randint(1, 28))
        with django_capture_on_commit_callbacks(execute=True):
            a = _record(org, ["theme_day"], day, today=TODAY, topic=f"会议{len(live)}", **kw)
        live.append(a)

    def minutes():
        text = BOILERPLATE + "\n" + original(rng, 250)
        roll = rng.random()
        if roll < 0.3 and live:  # a paragraph of an earlier record's minutes
            src = Activity.objects.get(pk=rng.choice(live).pk).minutes.split("\n", 1)[-1][:250]  # its own text
            cut = rng.randint(0, max(0, len(src) - 120))
            text += src[cut:cut + 120]
        elif roll < 0.7:
            text += circulated
        return text

    with django_capture_on_commit_callbacks(execute=True):
        _record(branches[0], ["theme_day"], dt.date(YEAR, 1, 5), today=TODAY, minutes=BOILERPLATE)
    formalism.refresh_year(YEAR)
    assert FormalismYear.objects.get(year=YEAR).basis
    modes, copies_of_circulated = [], []
    for step in range(60):
        roll = rng.random()
        if roll < 0.6 or len(live) < 4:
            save(minutes=minutes())
        elif roll < 0.75:
            a = rng.choice(live)
            with django_capture_on_commit_callbacks(execute=True):
                acts.update_activity(None, Activity.objects.get(pk=a.pk), minutes=minutes(), today=TODAY)
        elif roll < 0.85:
            a = live.pop(rng.randrange(len(live)))
            with django_capture_on_commit_callbacks(execute=True):
                acts.withdraw_activity(None, Activity.objects.get(pk=a.pk), "重复录入")
        else:  # moved to the year before: it leaves this year's index
            a = live.pop(rng.randrange(len(live)))
            with django_capture_on_commit_callbacks(execute=True):
                acts.update_activity(None, Activity.objects.get(pk=a.pk), held_on=dt.date(YEAR - 1, 11, 3),
                                     today=TODAY)
        job = Job.objects.filter(kind="formalism").latest("pk")
        modes += [y["mode"] for y in job.result["years"] if y["year"] == YEAR and y["runs"]]
        assert stored_full() == computed_full(), f"step {step}"
        assert FormalismYear.objects.get(year=YEAR).stamp == formalism.stamp(YEAR)
        holders = Activity.objects.filter(status="active", held_on__year=YEAR, minutes__contains=circulated[:40])
        copies_of_circulated.append((holders.count(), sum(
            1 for r in FormalismSignal.objects.filter(year=YEAR, kind="copied_minutes")
            if {r.first_id, r.second_id} <= set(holders.values_list("pk", flat=True)))))
    assert modes and set(modes) == {"incremental"}
    # The sequence went through the cap: the circulated paragraph was a copy while a few minutes
    # held it, and stopped being one once more than six did.
    assert any(n <= 6 and c for n, c in copies_of_circulated) and any(n > 6 for n, _ in copies_of_circulated)
    assert all(c == 0 for n, c in copies_of_circulated if n > 6)
    # The index matches one built afresh.
    def index():
        from dangjian.activities.models import FormalismRecord, MinutesFingerprint, MinutesFingerprintCount
        return (sorted(FormalismRecord.objects.filter(year=YEAR).values_list("activity_id", "document")),
                sorted(MinutesFingerprint.objects.filter(year=YEAR).values_list("activity_id", "hash")),
                sorted(MinutesFingerprintCount.objects.filter(year=YEAR).values_list("hash", "docs")),
                FormalismYear.objects.filter(year=YEAR).values_list("records", "documents").get())
    kept = index()
    formalism.rebuild_year(YEAR, formalism.Thresholds.from_defaults(), formalism.stamp(YEAR))
    assert index() == kept and stored_full() == computed_full()


def test_a_record_deleted_outright_makes_the_year_rebuild(both_units, django_capture_on_commit_callbacks):
    formalism.refresh_year(YEAR)
    Activity.objects.filter(pk=both_units["copier"].pk).delete()  # around the services
    result = formalism.refresh_year(YEAR)
    assert result["mode"] == "full" and stored_full() == computed_full()
    with django_capture_on_commit_callbacks(execute=True):
        _record(both_units["jy"][0], ["theme_day"], dt.date(YEAR, 9, 1), today=TODAY, topic="新增",
                minutes=BOILERPLATE + Activity.objects.get(pk=both_units["source"].pk).minutes[200:420])
    job = Job.objects.filter(kind="formalism").latest("pk")
    assert job.result["years"][0]["mode"] == "incremental" and stored_full() == computed_full()


def test_a_save_reads_a_bounded_part_of_the_year(tree, django_capture_on_commit_callbacks):
    """The catch-up after one save runs the same queries and reads the same rows whatever the
    number of the year's minutes: the index is looked up, the year is not read."""
    rng = random.Random(3)
    source = branch_with(tree["a"], full=3, code="BQ0")
    text = BOILERPLATE + original(rng, 300)
    with django_capture_on_commit_callbacks(execute=True):
        _record(source, ["theme_day"], dt.date(YEAR, 2, 2), today=TODAY, minutes=text)
    formalism.refresh_year(YEAR)

    def one_save(n):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            _record(source, ["theme_day"], dt.date(YEAR, 3, n), today=TODAY, topic=f"第{n}次",
                    minutes=BOILERPLATE + original(rng, 100) + text[150:330])
        for c in callbacks:  # the compliance job first: it is not what is measured here
            if getattr(c, "func", None) is not formalism.schedule:
                c()
        with CaptureQueriesContext(connection) as q:
            for c in callbacks:
                if getattr(c, "func", None) is formalism.schedule:
                    c()
        assert stored_full() == computed_full()
        job = Job.objects.filter(kind="formalism").latest("pk")
        assert job.result["years"][0]["mode"] == "incremental"
        return [x["sql"] for x in q.captured_queries]

    small = one_save(1)
    others = [branch_with(tree["b"], full=3, code=f"BQ{i}") for i in range(1, 4)]
    for i in range(40):  # more of the year, none of it related to the record saved next
        _record(others[i % 3], ["theme_day"], dt.date(YEAR, 1 + i % 12, 10), today=TODAY, topic=f"其他{i}",
                minutes=BOILERPLATE + original(rng, 250))
    formalism.refresh_year(YEAR)
    large = one_save(2)
    assert len(large) == len(small)
    reads_minutes = [x for x in large if "minutes" in x and "activities_activity" in x and "SELECT" in x]
    assert all("IN (" in x for x in reads_minutes)  # only records looked up by id, never the year


def test_the_pages_freshness_check_reads_no_aggregate_over_the_year(both_units, django_capture_on_commit_callbacks):
    formalism.refresh_year(YEAR)
    with CaptureQueriesContext(connection) as q:
        state = formalism.year_state(YEAR)
    assert state.current and len(q) == 2
    assert not any("COUNT(" in x["sql"].upper() or "MAX(" in x["sql"].upper() for x in q.captured_queries)
    # A record of another year changed: a refresh looks, finds this year's stamp unchanged and
    # moves the index's time on, without a catch-up run.
    with django_capture_on_commit_callbacks(execute=True):
        _record(both_units["cz"][0], ["theme_day"], dt.date(YEAR - 1, 6, 1), today=TODAY, topic="去年的会")
    before = FormalismYear.objects.get(year=YEAR).synced_to
    state = formalism.year_state(YEAR)  # jobs run inline in tests
    assert state.current and FormalismYear.objects.get(year=YEAR).synced_to > before
    job = Job.objects.filter(kind="formalism").latest("pk")
    assert job.result["years"][0]["runs"] == 0


# ---- the command ------------------------------------------------------------------------------

def test_command_json_rows_and_filters(both_units):
    d = both_units
    out = io.StringIO()
    call_command("formalism", "--year", str(YEAR), "--format", "json", stdout=out)
    rows = json.loads(out.getvalue())
    assert {r["kind"] for r in rows} == {"late", "burst", "copied_minutes"}
    for r in rows:
        assert {"kind", "org_code", "org_name", "activity_ids", "message"} <= set(r)
        assert all(isinstance(i, int) for i in r["activity_ids"])
    late = next(r for r in rows if r["kind"] == "late" and r["activity_ids"] == [d["late"].pk])
    assert (late["org_code"], late["days_late"], late["held_on"]) == ("CZ30", 62, f"{YEAR}-03-02")
    burst = next(r for r in rows if r["kind"] == "burst")
    assert burst["activity_ids"] == [a.pk for a in d["burst"]] and burst["period"] == f"{YEAR}-06"
    copy = next(r for r in rows if r["kind"] == "copied_minutes" and r["org_code"] == "JY11")
    assert copy["other_org_code"] == "CZ10" and copy["passages"][0].keys() == {"a_start", "a_end", "b_start", "b_end"}

    out = io.StringIO()
    call_command("formalism", "--year", str(YEAR), "--org", "JY", "--kind", "copied_minutes", "--format", "json",
                 stdout=out)
    assert [(r["kind"], r["org_code"]) for r in json.loads(out.getvalue())] == [("copied_minutes", "JY11")]

    out = io.StringIO()
    call_command("formalism", "--year", str(YEAR), stdout=out)
    assert "录入滞后" in out.getvalue() and "CZ30" in out.getvalue() and "共 " in out.getvalue()
    out = io.StringIO()
    call_command("formalism", "--year", "2019", stdout=out)
    assert "没有需要核实的提示" in out.getvalue()
    for bad in (["--year", "20x5"], ["--org", "NOPE"]):
        with pytest.raises(CommandError) as exc:
            call_command("formalism", *bad, stdout=io.StringIO())
        assert "年份" in str(exc.value) or "不存在" in str(exc.value)


# ---- the command prints the stored signals --------------------------------------------------------

@pytest.fixture
def every_kind(both_units, tree):
    """`both_units` (late, burst, copies) with identical attendance lists in a large branch, and
    a record copying a paragraph that two earlier records share: two copies with one later record
    and the same score, which only the earlier record orders."""
    rng = random.Random(5)
    big = branch_with(tree["a"], full=16, code="CZ40")
    same = {m.pk: "present" for m in big.people}
    same.update({big.people[3].pk: "absent", big.people[5].pk: ("excused", "出差")})
    lists = [record(big, dt.date(YEAR, m, 12), attendance=same) for m in (3, 5, 9)]
    shared = original(rng, 200)
    cz, jy = both_units["cz"], both_units["jy"]
    twins = [record(org, dt.date(YEAR, 10, 3 + i), topic=f"双{i}",
                    minutes=BOILERPLATE + "\n" + original(rng, 300) + shared) for i, org in enumerate((cz[0], jy[0]))]
    later = record(jy[1], dt.date(YEAR, 11, 5), topic="照抄两份", minutes=BOILERPLATE + "\n" + original(rng, 60) + shared)
    return {**both_units, "big": big, "lists": lists, "twins": twins, "later": later}


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("formalism", "--year", str(YEAR), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def printed(org=None, kind=None, fmt="table") -> str:
    """What the command printed when it computed the year itself: the reference."""
    found = formalism.compute(START, END, org=org, kinds=[kind] if kind else None)
    if fmt == "json":
        return to_json([s.as_json() for s in found]) + "\n"
    if not found:
        return f"{YEAR} 年没有需要核实的提示\n"
    counts = {}
    for s in found:
        counts[s.kind_label] = counts.get(s.kind_label, 0) + 1
    return (table([("提示", "组织代码", "组织名称", "依据记录", "说明")] + [
        (s.kind_label, s.org_code, s.org_name, ",".join(map(str, s.activity_ids)), s.message) for s in found])
        + f"\n共 {len(found)} 条提示：" + "，".join(f"{k} {n}" for k, n in counts.items()) + "\n")


def test_command_prints_what_the_computation_gives_for_the_tree_a_subtree_and_each_kind(every_kind, tree):
    d = every_kind
    out, err = run("--format", "json")
    assert "正在计算全年记录" in err and "已更新" in err  # never computed: the year is, in this process
    assert out == printed(fmt="json")
    rows = json.loads(out)
    assert {r["kind"] for r in rows} == set(formalism.KINDS)
    # The tie: one later record, two earlier ones with the same score, in the order of their ids.
    tied = [r for r in rows if r["kind"] == "copied_minutes" and r["activity_ids"][0] == d["later"].pk]
    assert [r["activity_ids"][1] for r in tied] == sorted(a.pk for a in d["twins"])
    assert tied[0]["score"] == tied[1]["score"]
    assert FormalismSignal.objects.filter(first_id=d["later"].pk, score=tied[0]["score"]).count() == 2
    for org in (None, tree["a"], tree["b"], d["big"], d["jy"][1]):
        code = ("--org", org.code) if org else ()
        for kind in (None, *formalism.KINDS):
            which = ("--kind", kind) if kind else ()
            for fmt in ("json", "table"):
                out, err = run(*code, *which, "--format", fmt)
                assert out == printed(org, kind, fmt), (org and org.code, kind, fmt)
                assert err == ""  # current: nothing computed
    assert "没有需要核实的提示" in run("--org", d["big"].code, "--kind", "late")[0]
    # The org a copy was made from is renamed (no record moves, nothing is recomputed): the copy
    # names it as it is now, as the computation does.
    Organization.objects.filter(pk=d["source"].org_id).update(name="财政局改名后的党支部", code="CZ99")
    for fmt in ("json", "table"):
        out, err = run("--org", "JY", "--format", fmt)
        assert out == printed(tree["b"], fmt=fmt) and "财政局改名后的党支部" in out and err == ""
    # Read a row at a time, the orgs named a row at a time: the same.
    assert [s.as_json() for s in formalism.stored_rows(YEAR, chunk_size=1)] == [
        s.as_json() for s in formalism.compute(START, END)]


def test_stored_figures_print_in_the_computations_key_order_whatever_the_database_kept(every_kind):
    """PostgreSQL's jsonb reorders an object's keys; the JSON printed keeps the computation's."""
    for s in formalism.compute(START, END):
        shuffled = dict(reversed(list(s.figures.items())))
        if "passages" in shuffled:
            shuffled["passages"] = [dict(reversed(list(p.items()))) for p in shuffled["passages"]]
        assert json.dumps(formalism._figures(s.kind, shuffled)) == json.dumps(s.figures)


def test_the_command_takes_in_records_changed_since_without_reading_the_years_minutes(
        every_kind, tree, monkeypatch, django_capture_on_commit_callbacks):
    d = every_kind
    formalism.refresh_year(YEAR)
    assert run("--format", "json")[0] == printed(fmt="json")
    # Changed after the signals were stored, their refresh not run: an edit through the services
    # (its job left out) that copies another unit's minutes, and a withdrawal made around them
    # that breaks the burst.
    late = Activity.objects.get(pk=d["late"].pk)
    with django_capture_on_commit_callbacks(execute=False):
        acts.update_activity(None, late, today=TODAY,
                             minutes=BOILERPLATE + "\n" + Activity.objects.get(pk=d["source"].pk).minutes[200:420])
    Activity.objects.filter(pk=d["burst"][0].pk).update(status=Activity.Status.WITHDRAWN, updated_at=timezone.now())

    real = formalism.compute

    def per_org_only(*args, **kw):
        assert kw.get("org_ids") is not None, "the whole year computed"
        return real(*args, **kw)

    def no_copies(*args, **kw):
        raise AssertionError("the year's minutes read")

    monkeypatch.setattr(formalism, "compute", per_org_only)
    monkeypatch.setattr(formalism, "_copies", no_copies)
    with CaptureQueriesContext(connection) as q:
        out, err = run("--format", "json")
        table_out, table_err = run()
    monkeypatch.undo()
    assert "正在更新" in err and "增量更新" in err and table_err == ""
    qn, table_ = connection.ops.quote_name, Activity._meta.db_table
    reads = [x["sql"] for x in q.captured_queries if f"{qn(table_)}.{qn('minutes')}" in x["sql"].split(" FROM ")[0]]
    assert reads and all(f"{qn(table_)}.{qn('id')} IN (" in x for x in reads)  # looked up by id only
    assert out == printed(fmt="json") and table_out == printed()
    rows = json.loads(out)
    assert any(r["kind"] == "copied_minutes" and r["activity_ids"] == [late.pk, d["source"].pk] for r in rows)
    assert not any(r["kind"] == "burst" for r in rows)
    assert run("--org", "JY", "--format", "json")[0] == printed(tree["b"], fmt="json")


def test_the_command_waits_for_a_refresh_another_process_holds(every_kind, monkeypatch):
    formalism.refresh_year(YEAR)
    Activity.objects.filter(pk=every_kind["late"].pk).update(topic="改过的题目", updated_at=timezone.now())
    FormalismYear.objects.filter(year=YEAR).update(refreshing_since=timezone.now())
    waited = []

    def other_done(seconds):  # the other process lets go of the year without having seen the change
        waited.append(seconds)
        formalism._release(YEAR)

    monkeypatch.setattr(formalism.time, "sleep", other_done)
    out, err = run("--format", "json")
    assert len(waited) == 1 and "等待" in err and "已更新" in err
    assert out == printed(fmt="json") and "改过的题目" in out


def test_stored_copies_take_their_score_on_upgrade(transactional_db, tree):
    from django.db.migrations.executor import MigrationExecutor

    before = ("activities", "0011_compliance_end_status_index")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("activities")
    executor.migrate([before])
    Old = MigrationExecutor(connection).loader.project_state([before]).apps.get_model("activities", "FormalismSignal")
    common = {"year": YEAR, "org_id": tree["a1"].pk, "top_org_id": tree["a"].pk, "held_on": dt.date(YEAR, 3, 2),
              "records": [], "message": "提示"}
    copy = Old.objects.create(kind="copied_minutes", first_id=9, second_id=8, figures={"score": 0.8123}, **common)
    late = Old.objects.create(kind="late", first_id=7, figures={"days_late": 40}, **common)
    MigrationExecutor(connection).migrate(latest)
    assert FormalismSignal.objects.get(pk=copy.pk).score == 0.8123
    assert FormalismSignal.objects.get(pk=late.pk).score is None


# ---- the demo city ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_demo_city_has_real_cases_of_every_signal():
    call_command("demo", members=1500, seed=3, today="2026-06-30", stdout=io.StringIO(), stderr=io.StringIO())
    found = formalism.compute(dt.date(2025, 7, 1), dt.date(2026, 6, 30))
    by_kind = {k: [s for s in found if s.kind == k] for k in formalism.KINDS}
    assert all(by_kind.values()), {k: len(v) for k, v in by_kind.items()}
    # The demo's copies are of other branches' minutes (some with the speakers renamed), made in
    # the same month; nothing else in its thousands of templated minutes is reported.
    minutes = dict(Activity.objects.filter(pk__in={i for s in by_kind["copied_minutes"] for i in s.activity_ids})
                   .values_list("pk", "minutes"))
    for s in by_kind["copied_minutes"]:
        a, b = s.records
        assert s.org_code != s.figures["other_org_code"] and (a.held_on.year, a.held_on.month) == (
            b.held_on.year, b.held_on.month)
    assert any(minutes[s.activity_ids[0]] != minutes[s.activity_ids[1]] for s in by_kind["copied_minutes"])
    # Reused lists keep their absentees.
    assert all(s.figures["away"] >= 2 and s.figures["listed"] >= 15 for s in by_kind["same_attendance"])


def test_summary_cells_are_the_markup_the_template_loop_wrote():
    """`{% formalism_cells %}` writes in Python what the summary row's loop wrote: the same bytes
    for counted and empty kinds, an org's own row, and a code and base that need escaping."""
    from types import SimpleNamespace

    from django.template import Context, Template

    loop = Template(
        '{% for k, n in u.cells %}<td>{% if n %}<a href="?{{ unit_base }}&amp;org={{ u.org.code|urlencode }}'
        '{% if u.own %}&amp;own=1{% endif %}&amp;kind={{ k }}" title="列出这些提示">{{ n }}</a>'
        '{% else %}<span class="text-muted">0</span>{% endif %}</td>{% endfor %}')
    tag = Template("{% load formalism_cells %}{% formalism_cells u unit_base %}")
    for own in (False, True):
        u = SimpleNamespace(org=SimpleNamespace(code="CZ 01/财政&<"), own=own,
                            cells=[("late_entry", 3), ("copied_minutes", 0), ("bunched", 1250)])
        context = {"u": u, "unit_base": "year=2026&q=<x>"}
        expected = loop.render(Context(context))
        assert tag.render(Context(context)) == expected
        assert ("own=1" in expected) == own and expected.count("<td>") == 3
