"""述职评议 votes stay anonymous against the database itself, not only against the pages: after
voting (and while it is open) no table, row version, row order, file or log of the database
links a vote to the ballot that cast it; and no voter group's grades are shown, exported or
printed where fewer than the minimum number of its ballots were cast."""
import datetime as dt
import io
import json
import re
import shutil
import sqlite3
import struct
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from dangjian.assessment import services as assessment
from dangjian.reviews import queries, services
from dangjian.reviews.models import Ballot, DutyReview, VoteCount
from tests.factories import login
from tests.factories import page_text as page
from tests.test_reviews import GROUPS, grades_for, make_review

YEAR = timezone.localdate().year
GRADES = ("excellent", "good", "fair", "poor")
# Each ballot's grades for the two reports: every pattern differs, so a ballot's votes, once
# linked to it, could be told apart from any other's.
PATTERNS = [(a, b) for a in GRADES for b in GRADES]


def open_with(review, ballots):
    codes = {}
    for (name, weight), n in zip(GROUPS, ballots):
        group = services.add_group(None, review, name, weight)
        codes[name] = services.issue_ballots(None, group, n)
    services.open_review(None, review)
    return codes


# ---- SQLite: the database file and its -wal, copied ----------------------------------------------

@contextmanager
def file_database(path: Path):
    """The suite's SQLite database is in memory; the votes are cast here against a copy of it in
    a file, with the platform's own connection settings (WAL), as on an installation."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(path)])
    original = connections["default"]
    wrapper = original.__class__({**original.settings_dict, "NAME": str(path)}, alias="default")
    connections["default"] = wrapper
    try:
        yield
    finally:
        wrapper.close()
        connections["default"] = original


def copy_files(path: Path, to: Path) -> Path:
    """What someone who can read the server's disk takes away: the database file and its -wal."""
    to.mkdir()
    shutil.copy(path, to / "db.sqlite3")
    wal = Path(f"{path}-wal")
    if wal.exists():
        shutil.copy(wal, to / "db.sqlite3-wal")
    return to / "db.sqlite3"


def wal_commits(wal: bytes) -> list[int]:
    """Byte lengths of the -wal file's prefixes that end at a commit frame, in commit order (the
    WAL format: a 32-byte header, then frames of a 24-byte header and one page; a commit frame
    gives the database size after the commit)."""
    if len(wal) < 32:
        return []
    page_size = struct.unpack(">I", wal[8:12])[0]
    salts = wal[16:24]
    ends, at = [], 32
    while at + 24 + page_size <= len(wal):
        if wal[at + 8:at + 16] != salts:
            break  # frames of an earlier generation of the log, not valid any more
        if struct.unpack(">I", wal[at + 4:at + 8])[0]:
            ends.append(at + 24 + page_size)
        at += 24 + page_size
    return ends


def state(db: Path) -> tuple[set, Counter]:
    """Which ballots are used, and the grades counted so far per (report, group, grade), read
    from whatever tables hold them (per-vote rows or counters)."""
    con = sqlite3.connect(db)
    try:
        columns = {row[1] for row in con.execute("PRAGMA table_info(reviews_ballot)")}
        used_column = "used_at IS NOT NULL" if "used_at" in columns else "used"
        used = {h for (h,) in con.execute(f"SELECT code_hash FROM reviews_ballot WHERE {used_column}")}
        tables = {t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = Counter()
        if "reviews_vote" in tables:
            for r, g, grade, n in con.execute("SELECT report_id, group_id, grade, COUNT(*) FROM reviews_vote "
                                              "GROUP BY report_id, group_id, grade"):
                counts[(r, g, grade)] = n
        if "reviews_votecount" in tables:
            for r, g, grade, n in con.execute("SELECT report_id, group_id, grade, count FROM reviews_votecount"):
                counts[(r, g, grade)] += n
        return used, counts
    finally:
        con.close()


def ballots_linked(db: Path, work: Path) -> dict[str, Counter]:
    """The attack on a copy: replay the -wal commit by commit onto the database file and, at each
    commit where exactly one ballot became used, read off the grades that were added. Returns
    the ballots (code hashes) so linked to their grades."""
    wal_path = Path(f"{db}-wal")
    wal = wal_path.read_bytes() if wal_path.exists() else b""
    links, before = {}, None
    for n, end in enumerate([0, *wal_commits(wal)]):
        step = work / f"step{n}"
        step.mkdir()
        shutil.copy(db, step / "db.sqlite3")
        if end:
            (step / "db.sqlite3-wal").write_bytes(wal[:end])
        now = state(step / "db.sqlite3")
        if before is not None:
            newly_used = now[0] - before[0]
            added = now[1] - before[1]
            if len(newly_used) == 1 and added:
                links[newly_used.pop()] = added
        before = now
    return links


def test_sqlite_files_copied_during_and_after_voting_link_no_vote_to_a_ballot(transactional_db, tree, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite 的数据库文件和 -wal 文件")
    review, reports = make_review(tree)
    codes = open_with(review, (8, 5, 5))
    cast = [c for cs in codes.values() for c in cs[:4]]
    live = tmp_path / "live.sqlite3"
    with file_database(live):
        for code, (a, b) in zip(cast, PATTERNS):
            services.cast_ballot(code, grades_for(reports, a, b))
        during = copy_files(live, tmp_path / "during")
        services.close_review(None, review)
        after = copy_files(live, tmp_path / "after")
        closed = DutyReview.objects.get(pk=review.pk)
        counted = sum(VoteCount.objects.filter(review=review).values_list("count", flat=True))
    assert closed.status == "closed" and counted == len(cast) * len(reports)

    for name, copy in (("during", during), ("after", after)):
        work = tmp_path / f"replay-{name}"
        work.mkdir()
        assert ballots_linked(copy, work) == {}, name
        used, counts = state(copy)
        assert len(used) == len(cast) and sum(counts.values()) == len(cast) * len(reports), name
    # Nothing in the files says when a ballot was used, and no earlier value is left behind.
    con = sqlite3.connect(after)
    ballot_columns = {row[1]: row[2] for row in con.execute("PRAGMA table_info(reviews_ballot)")}
    con.close()
    assert set(ballot_columns) == {"id", "group_id", "code_hash", "used"}
    wal = Path(f"{after}-wal")
    assert not wal.exists() or wal.stat().st_size == 0


# ---- PostgreSQL: row versions, transaction ids, physical order, statistics ---------------------

def tuples(table: str) -> list[dict]:
    """Every tuple stored in the table's pages, live or dead, as a superuser sees it with
    pageinspect: its xmin, xmax and the row's id (NULL where VACUUM left no data)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s) / current_setting('block_size')::int", [table])
        blocks = cursor.fetchone()[0]
        out = []
        for block in range(blocks):
            cursor.execute("SELECT lp, t_xmin::text::bigint, t_xmax::text::bigint, t_data IS NOT NULL "
                           "FROM heap_page_items(get_raw_page(%s, %s))", [table, block])
            out += [{"block": block, "lp": lp, "xmin": xmin, "xmax": xmax} for lp, xmin, xmax, has in
                    cursor.fetchall() if has]
        return out


def settled(table: str, rows: int, rebuild: bool = False) -> list[dict]:
    """The table's stored tuples once the old versions could be cleared. A vote clears without
    waiting; if a transaction begun before it was still open somewhere on the server (another
    database's migration, say), the old versions wait for the next clearing — run here, waiting
    for such transactions to end, as the closing does."""
    stored = tuples(table)
    if len(stored) != rows:
        services.clear_old_versions(rebuild=rebuild, wait=120)
        stored = tuples(table)
    return stored


def xmin_of_ballots() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT code_hash, xmin::text::bigint FROM reviews_ballot")
        return dict(cursor.fetchall())


def inserted_rows() -> int:
    """Rows inserted into any table since the statistics began, as pg_stat reports them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT COALESCE(SUM(n_tup_ins), 0) FROM pg_stat_user_tables")
        return cursor.fetchone()[0]


def counter_order(review) -> list[tuple]:
    """The review's counters in the order they are stored (ctid), named by what they count."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT report_id, group_id, grade FROM reviews_votecount WHERE review_id = %s ORDER BY ctid",
                       [review.pk])
        return cursor.fetchall()


def test_postgres_row_versions_link_no_vote_to_a_ballot(transactional_db, tree):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL 的行版本（xmin/xmax）、物理顺序（ctid）和统计信息")
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    review, reports = make_review(tree)
    codes = open_with(review, (8, 5, 5))
    counters = VoteCount.objects.filter(review=review).count()
    assert counters == len(reports) * len(GROUPS) * len(GRADES)
    hashes = {c: services.code_hash(c) for cs in codes.values() for c in cs}
    opened_order = counter_order(review)
    inserted = inserted_rows()
    vote_xids = []
    cast = [c for cs in codes.values() for c in cs[:5]]
    for code, (a, b) in zip(cast, PATTERNS):
        services.cast_ballot(code, grades_for(reports, a, b))
        vote_xids.append(xmin_of_ballots()[hashes[code]])
        # While voting is open: every stored version of a counter — live or dead — was written by
        # a transaction that wrote all of the review's counters, so matching a ballot's xmin to
        # the counters says nothing about its grades.
        stored = settled("reviews_votecount", counters)
        by_xmin = Counter(t["xmin"] for t in stored)
        assert len(stored) == counters and set(by_xmin.values()) == {counters}
        # The physical order of the counters is the order they were created in at opening.
        assert counter_order(review) == opened_order
    # No vote inserted a row anywhere (pg_stat): there is no row of a vote to find or order.
    assert inserted_rows() == inserted
    assert len(set(vote_xids)) == len(vote_xids)

    services.close_review(None, review)
    # After closing every counter and every ballot holds the closing transaction's id, which is
    # no vote's; no old version is left in the tables' pages.
    stored_counters, stored_ballots = tuples("reviews_votecount"), tuples("reviews_ballot")
    assert len(stored_counters) == counters and len(stored_ballots) == len(hashes)
    counter_xmins = {t["xmin"] for t in stored_counters}
    ballot_xmins = {t["xmin"] for t in stored_ballots}
    assert len(counter_xmins) == 1 and counter_xmins == ballot_xmins
    assert not counter_xmins & set(vote_xids)
    assert counter_order(review) == opened_order
    assert sum(VoteCount.objects.filter(review=review).values_list("count", flat=True)) == len(cast) * len(reports)


# ---- every database: what is stored ----------------------------------------------------------------

def test_counters_exist_before_the_first_vote_and_carry_no_time_or_order(tree):
    review, reports = make_review(tree)
    codes = open_with(review, (6, 5, 5))
    before = list(VoteCount.objects.filter(review=review).order_by("pk").values_list("pk", "report", "group", "grade"))
    assert len(before) == 2 * 3 * 4 and not any(VoteCount.objects.values_list("count", flat=True))
    services.cast_ballot(codes["党员代表"][0], grades_for(reports, "poor", "excellent"))
    services.cast_ballot(codes["群众代表"][0], grades_for(reports, "good", "good"))
    after = list(VoteCount.objects.filter(review=review).order_by("pk").values_list("pk", "report", "group", "grade"))
    assert after == before  # no row made, none moved: what exists and in which order is fixed at opening
    # A vote writes every counter of the review alike, so no counter says it was the last one raised.
    assert set(VoteCount.objects.filter(review=review).values_list("writes", flat=True)) == {2}
    assert list(Ballot.objects.filter(used=True).values_list("used", flat=True)) == [True, True]
    time_fields = [f.name for model in (Ballot, VoteCount) for f in model._meta.get_fields()
                   if f.get_internal_type() in ("DateTimeField", "DateField", "TimeField")]
    assert time_fields == []


# ---- the minimum group size -----------------------------------------------------------------------

def lone_voter_review(tree):
    """党员代表: 6 of 8 ballots cast; 两代表一委员: 1 of 5 cast — the only 差 for report a; 群众代表:
    5 of 5 cast."""
    review, reports = make_review(tree)
    codes = open_with(review, (8, 5, 5))
    for code in codes["党员代表"][:6]:
        services.cast_ballot(code, grades_for(reports, "excellent", "good"))
    services.cast_ballot(codes["两代表一委员"][0], grades_for(reports, "poor", "fair"))
    for code in codes["群众代表"]:
        services.cast_ballot(code, grades_for(reports, "good", "good"))
    services.close_review(None, review)
    return review, reports


# 党员代表 (40%) all 好 on report a, 群众代表 (30%) all 较好: the lone voter's 差 counts nowhere.
SCORE_A = (100 * 40 + 85 * 30) / 70


def test_a_group_of_one_is_neither_shown_nor_counted_on_the_page_or_in_the_export(tree, personas):
    review, reports = lone_voter_review(tree)
    c = login(personas["wc_admin"])
    res = page(c.get(f"/reviews/{review.pk}/results/"))
    row_a = re.search(rf'data-report="{reports[0].pk}">(.*?)</tr>\s*<tr.*?</tr>', res, re.S).group(0)
    counts = dict(re.findall(r'data-grade="(\w+)">(\d+)<', row_a))
    assert counts == {"excellent": "6", "good": "5", "fair": "0", "poor": "0"}
    assert f"{SCORE_A:.2f}" in row_a and "两代表一委员：" not in row_a
    assert "“两代表一委员”（1 人投票）投票人数少于 5 人，为保证投票匿名，其票数不显示，也不计入有效票和得分" in res

    wb = openpyxl.load_workbook(io.BytesIO(b"".join(c.get(f"/reviews/{review.pk}/results.xlsx").streaming_content)))
    rows = list(wb["评议结果"].iter_rows(values_only=True))
    assert rows[1][2:7] == (6, 5, 0, 0, 11) and rows[1][8] == pytest.approx(SCORE_A, abs=0.01)
    groups = {r[1] for r in list(wb["分群体票数"].iter_rows(values_only=True))[1:]}
    assert groups == {"党员代表", "群众代表"}
    assert "两代表一委员" in " ".join(str(v) for row in wb["说明"].iter_rows(values_only=True) for v in row)


def test_small_groups_together_are_shown_as_others(tree):
    review, reports = make_review(tree)
    codes = open_with(review, (5, 5, 5))
    for code in codes["党员代表"]:
        services.cast_ballot(code, grades_for(reports, "excellent", "excellent"))
    for code in codes["两代表一委员"][:2]:
        services.cast_ballot(code, grades_for(reports, "poor", "good"))
    for code in codes["群众代表"][:3]:
        services.cast_ballot(code, grades_for(reports, "fair", "good"))
    services.close_review(None, review)
    res = queries.results(review, reports)
    shown = [(g.group.name, g.total, g.counts) for g in res.rows[0].by_group]
    assert shown == [("党员代表", 5, {"excellent": 5, "good": 0, "fair": 0, "poor": 0}),
                     ("其他（两代表一委员、群众代表）", 5, {"excellent": 0, "good": 0, "fair": 3, "poor": 2})]
    # 党员代表 40% × 100, the two others together 60% × their mean (3 × 70 + 2 × 50) / 5.
    assert res.rows[0].vote_score == pytest.approx((40 * 100 + 60 * (3 * 70 + 2 * 50) / 5) / 100)
    assert "已合并为“其他”列出和计分" in " ".join(res.notes())


def test_the_metric_and_the_assess_command_leave_a_small_group_out(tree, personas):
    review, reports = lone_voter_review(tree)
    scheme = assessment.create_scheme(None, code="PY", name="述职评议考核", year=YEAR, level="unit")
    assessment.save_indicators(None, scheme, [dict(category="述职评议", name="述职评议满意度", weight=100,
                                                   method="metric", metric="review_votes",
                                                   params={"mode": "score"})])
    out = io.StringIO()
    call_command("assess", "--scheme", "PY", "--period", str(YEAR), "--format", "json",
                 "--today", dt.date(YEAR + 1, 1, 10).isoformat(), stdout=out)
    rows = {r["target_code"]: r for r in json.loads(out.getvalue())}
    detail = rows[reports[0].org.code]["indicators"][0]["detail"]
    assert "评议票 11 张" in detail and f"加权评议得分 {SCORE_A:.1f}" in detail
    # The API has no endpoint for review results at all (a guard: one added later must apply the
    # same rule).
    schema = page(login(personas["wc_admin"]).get("/api/schema/"))
    assert "/reviews" not in schema and "votecount" not in schema.lower()


def test_a_voter_group_smaller_than_the_minimum_is_refused(tree, personas):
    review, reports = make_review(tree)
    group = services.add_group(None, review, "党员代表", 100)
    with pytest.raises(services.ReviewError, match="每个投票群体至少需要 5 张选票；“党员代表”本次至少生成 5 张"):
        services.issue_ballots(None, group, 2)
    c = login(personas["wc_admin"])
    r = c.post(f"/reviews/{review.pk}/ballots/", {"group": group.pk, "count": 4, "output": "page"})
    assert "每个投票群体至少需要 5 张选票" in page(r) and not Ballot.objects.exists()
    with pytest.raises(services.ReviewError, match="“党员代表”只有 0 张选票"):
        services.open_review(None, review)
    services.issue_ballots(None, group, 5)
    services.issue_ballots(None, group, 1)
    assert services.open_review(None, review).status == "open"


# ---- the upgrade --------------------------------------------------------------------------------

def test_existing_votes_are_moved_into_counters_and_dropped(transactional_db, tree):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("reviews")
    executor.migrate([("reviews", "0001_initial")])
    old = MigrationExecutor(connection).loader.project_state([("reviews", "0001_initial")]).apps
    Review, Report, Group, Ballot_, Vote = (old.get_model("reviews", m) for m in
                                            ("DutyReview", "DutyReport", "VoterGroup", "Ballot", "Vote"))
    closed = Review.objects.create(org_id=tree["wc"].pk, year=YEAR, title="已结束", status="closed")
    draft = Review.objects.create(org_id=tree["wc"].pk, year=YEAR, title="筹备中", status="draft")
    reports = [Report.objects.create(review=closed, org_id=tree[o].pk, reporter_id=tree[m].pk, title=o, text="正文")
               for o, m in (("a", "ma"), ("b", "mb"))]
    groups = [Group.objects.create(review=closed, name=n, weight=w) for n, w in GROUPS[:2]]
    Group.objects.create(review=draft, name="党员代表", weight=100)
    cast = [(groups[0], "excellent", "good")] * 3 + [(groups[0], "poor", "good"), (groups[1], "fair", "fair")]
    for i, (group, a, b) in enumerate(cast):
        Ballot_.objects.create(group=group, code_hash=f"{i:064d}", used_at=timezone.now())
        for report, grade in zip(reports, (a, b)):
            Vote.objects.create(id=i * 10 + report.pk, review=closed, report=report, group=group, grade=grade)
    Ballot_.objects.create(group=groups[1], code_hash="f" * 64)

    MigrationExecutor(connection).migrate(latest)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "reviews_vote" not in tables
    counts = {(c.report_id, c.group_id, c.grade): c.count for c in VoteCount.objects.filter(review_id=closed.pk)}
    assert len(counts) == 2 * 2 * 4 and not VoteCount.objects.filter(review_id=draft.pk).exists()
    assert {k: n for k, n in counts.items() if n} == {
        (reports[0].pk, groups[0].pk, "excellent"): 3, (reports[0].pk, groups[0].pk, "poor"): 1,
        (reports[1].pk, groups[0].pk, "good"): 4, (reports[0].pk, groups[1].pk, "fair"): 1,
        (reports[1].pk, groups[1].pk, "fair"): 1}
    assert sorted(Ballot.objects.values_list("used", flat=True)) == [False] + [True] * 5
    assert {f.name for f in Ballot._meta.get_fields()} == {"id", "group", "code_hash", "used"}
