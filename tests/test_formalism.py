"""Formalism signals (形式主义提示): planted cases of each kind are found, look-alikes are not;
who sees which signals; the command's output; a page whose query count does not grow with data."""
import datetime as dt
import io
import json
import random
import re

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.activities import formalism
from dangjian.activities.models import Activity
from dangjian.core.similarity import STANDARD_FORMULATIONS, normalize
from tests.factories import branch_with, login, original
from tests.factories import record as _record

YEAR = 2025
TODAY = dt.date(YEAR, 12, 31)
START, END = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
# What every branch's minutes open with: shared by more than `common_docs` (10) records below,
# so the engine learns it is a formulation, not a copy.
BOILERPLATE = ("会议由支部书记主持。会上通报了本月支部工作情况，对下一步重点工作作了安排。会议强调，要坚持学用结合，"
               "把理论学习同做好本职工作结合起来。支部书记就近期党风廉政建设提出了具体要求。")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


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


# ---- who sees what ----------------------------------------------------------------------------

@pytest.fixture
def both_units(tree, minutes_corpus):
    """A late record in 财政局, a burst in 教育局, and the copies of `minutes_corpus`."""
    late_branch = branch_with(tree["a"], full=3, code="CZ30", name="财政局补录党支部")
    late = record(late_branch, dt.date(YEAR, 3, 2), entered=dt.date(YEAR, 5, 3))
    burst_branch = branch_with(tree["b"], full=3, code="JY30", name="教育局集中录入党支部")
    burst = [record(burst_branch, dt.date(YEAR, m, 5), entered=dt.date(YEAR, 6, 29)) for m in (4, 5, 6)]
    return {"late": late, "burst": burst, **minutes_corpus}


def test_working_committee_sees_every_kind_with_evidence_links(both_units, personas):
    d = both_units
    for who in ("wc_admin", "leader"):
        r, text = page(login(personas[who]))
        assert r.status_code == 200
        for kind in ("late", "burst", "copied_minutes"):
            assert f'data-kind="{kind}"' in text
        assert f'href="/activities/{d["late"].pk}/"' in text
        assert all(f'href="/activities/{a.pk}/"' in text for a in d["burst"])
        assert "财政局补录党支部" in text and "教育局集中录入党支部" in text
    # The copied passage is highlighted in both records, side by side.
    r, text = page(login(personas["wc_admin"]), "&kind=copied_minutes")
    assert 'signal" data-kind="late"' not in text and 'signal" data-kind="copied_minutes"' in text
    assert text.count('<mark class="copied" data-passage="1"') == 4
    assert f'href="/activities/{d["source"].pk}/"' in text and f'href="/activities/{d["copier"].pk}/"' in text


def test_unit_admin_sees_only_own_subtree_and_not_the_other_side_of_a_copy(both_units, personas):
    d = both_units
    r, text = page(login(personas["unit_admin_b"]))
    assert r.status_code == 200
    assert "教育局集中录入党支部" in text and "财政局补录党支部" not in text
    assert f'href="/activities/{d["late"].pk}/"' not in text
    # 教育局's record copied a 财政局 record: the signal is 教育局's, the source stays hidden.
    assert f'href="/activities/{d["copier"].pk}/"' in text
    assert f'href="/activities/{d["source"].pk}/"' not in text
    assert "查看范围以外" in text and "CZ10" not in text and "市财政局" not in text
    source_text = Activity.objects.get(pk=d["source"].pk).minutes
    assert source_text[-60:] not in text
    # Asking for the other unit by code shows a message and nothing of it.
    r, text = page(login(personas["unit_admin_b"]), "&org=CZ")
    assert r.status_code == 200 and "不在您的查看范围内" in text and "财政局补录党支部" not in text

    r, text = page(login(personas["unit_admin_a"]))
    assert "财政局补录党支部" in text and "教育局集中录入党支部" not in text
    assert f'href="/activities/{d["copier"].pk}/"' not in text  # the copy of its record is 教育局's signal
    assert f'href="/activities/{d["repeat"].pk}/"' in text


def test_branch_secretaries_and_members_get_404(both_units, personas):
    for who in ("secretary_a1", "member_a"):
        assert login(personas[who]).get(f"/activities/formalism/?year={YEAR}").status_code == 404
    assert login(personas["wc_admin"]).post("/activities/formalism/").status_code == 405


def test_filters_by_kind_and_unit_and_counts_per_kind(both_units, personas):
    c = login(personas["wc_admin"])
    _, text = page(c, "&org=CZ")
    assert "财政局补录党支部" in text and "教育局集中录入党支部" not in text
    assert re.search(r'data-kind="late"[^>]*>录入滞后 1<', text)
    assert re.search(r'data-kind="burst"[^>]*>期末集中录入 0<', text)
    _, text = page(c, "&kind=burst")
    assert "教育局集中录入党支部" in text and "财政局补录党支部" not in text
    _, text = page(c, "&kind=nonsense&year=abc&page=99")  # bad input: defaults, no error page
    assert "形式主义问题提示" in text


def test_page_follows_changes_without_stale_cache(both_units, personas):
    c = login(personas["wc_admin"])
    _, before = page(c)
    b = both_units["late"].org
    new = record(b, dt.date(YEAR, 4, 1), entered=dt.date(YEAR, 7, 1), topic="新补录")
    _, after = page(c)
    assert f'href="/activities/{new.pk}/"' not in before and f'href="/activities/{new.pk}/"' in after


def test_page_query_count_does_not_grow_with_data(both_units, personas, tree):
    c = login(personas["wc_admin"])

    def count(query=""):
        cache.clear()
        with CaptureQueriesContext(connection) as miss:
            assert c.get(f"/activities/formalism/?year={YEAR}{query}").status_code == 200
        with CaptureQueriesContext(connection) as hit:
            assert c.get(f"/activities/formalism/?year={YEAR}{query}").status_code == 200
        return len(miss), len(hit)

    count()  # warm up (first-request work such as content types)
    small = count(), count("&kind=copied_minutes")
    assert small[0][1] < small[0][0]  # a cached year skips the computation
    rng = random.Random(5)
    more = branch_with(tree["b"], full=3, code="JY40")
    for m in range(1, 11):
        record(more, dt.date(YEAR, m, 2), entered=dt.date(YEAR, m, 2) + dt.timedelta(days=40))
    src = record(more, dt.date(YEAR, 11, 20), minutes=BOILERPLATE + original(rng, 300))
    record(tree["b1"], dt.date(YEAR, 11, 25), minutes=BOILERPLATE + src.minutes[120:330])
    assert len(formalism.compute(START, END)) >= 15
    assert (count(), count("&kind=copied_minutes")) == small


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
