"""述职评议: the review flow through its pages, anonymous votes, bad input, copy detection between
duty reports, results and the `review_votes` metric, scoping, query counts and the demo data."""
import datetime as dt
import hashlib
import io
import random
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import docx
import openpyxl
import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.accounts.models import User
from dangjian.assessment import metrics
from dangjian.assessment.models import Run, Scheme, TargetScore
from dangjian.core.models import AuditEntry
from dangjian.orgs.models import Organization
from dangjian.rectification import services as rectify
from dangjian.rectification.models import Item
from dangjian.reviews import demo, queries, services
from dangjian.reviews.models import Ballot, CopyFinding, DutyReport, DutyReview, VoteCount, VoterGroup
from tests import factories
from tests.factories import login
from tests.factories import page_text as page

YEAR = timezone.localdate().year
SEEDS = sorted((Path(__file__).parent / "data" / "seeds").glob("*.txt"))
GROUPS = (("党员代表", 40), ("两代表一委员", 30), ("群众代表", 30))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def small_groups(settings):
    """These tests follow the flow and the arithmetic with one or two voters per group, so every
    group is shown on its own here; the minimum group size (default 5) is tested in
    test_review_anonymity.py."""
    settings.REVIEW_MIN_GROUP = 1


def votes_cast(**filters) -> int:
    """Grades given so far (one per ballot and report), from the vote counters."""
    return sum(VoteCount.objects.filter(**filters).values_list("count", flat=True))



def own_text(seed: int, name: str = "某单位") -> str:
    """An original report (the demo's generator: the unit's own work in short slots)."""
    return demo.report_text(random.Random(seed), name, YEAR)[0]


def make_review(tree, orgs=("a", "b"), reporters=("ma", "mb"), texts=None, year=YEAR, org="wc", title=None):
    review = services.create_review(None, tree[org], year, title or f"{year}年度述职评议")
    reports = [services.submit_report(None, review, tree[o], tree[m], text=texts[i] if texts else own_text(i))
               for i, (o, m) in enumerate(zip(orgs, reporters))]
    return review, reports


def ready(review, ballots=(5, 3, 3)):
    """Voter groups with ballots; voting opened. Returns {group name: [codes]}."""
    codes = {}
    for (name, weight), n in zip(GROUPS, ballots):
        group = services.add_group(None, review, name, weight)
        codes[name] = services.issue_ballots(None, group, n)
    services.open_review(None, review)
    return codes


def grades_for(reports, *grades):
    return {r.pk: g for r, g in zip(reports, grades)}


# ---- the whole flow through the pages -----------------------------------------------------------

def test_review_flow_through_the_pages(tree, personas, django_capture_on_commit_callbacks):
    wc = login(personas["wc_admin"])
    r = wc.post("/reviews/new/", {"org": tree["wc"].pk, "year": YEAR, "title": f"{YEAR}年度述职评议",
                                  "vote_share": "50", "points_excellent": 100, "points_good": 85, "points_fair": 70,
                                  "points_poor": 50})
    assert r.status_code == 302, page(r)
    review = DutyReview.objects.get()
    assert r["Location"] == f"/reviews/{review.pk}/"
    for name, weight in GROUPS:
        assert wc.post(f"/reviews/{review.pk}/groups/", {"action": "add", "name": name, "weight": weight}).status_code == 302
    assert list(review.groups.values_list("name", "weight")) == [(n, Decimal(w)) for n, w in GROUPS]

    # The units' party officers see the review they report to and submit their reports.
    ua, ub = login(personas["unit_admin_a"]), login(personas["unit_admin_b"])
    detail = page(ua.get(f"/reviews/{review.pk}/"))
    assert "市财政局机关党委" in detail and "市教育局机关党委" not in detail and "提交述职报告" in detail
    form = ua.get(f"/reviews/{review.pk}/submit/?org={tree['a'].pk}")
    assert form.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        r = ua.post(f"/reviews/{review.pk}/submit/", {"org": tree["a"].pk, "reporter": tree["ma"].pk,
                                                      "text": own_text(1), "keep_original": "on"})
    assert r.status_code == 302, page(r)
    report_a = DutyReport.objects.get(org=tree["a"])
    assert report_a.checked_at is not None  # the copy check ran after the commit
    upload = SimpleUploadedFile("述职报告.docx", docx_bytes(own_text(2).split("\n")))
    with django_capture_on_commit_callbacks(execute=True):
        r = ub.post(f"/reviews/{review.pk}/submit/", {"org": tree["b"].pk, "reporter": tree["mb"].pk, "file": upload,
                                                      "keep_original": "on"})
    assert r.status_code == 302, page(r)
    report_b = DutyReport.objects.get(org=tree["b"])
    assert report_b.text == own_text(2) and report_b.original_name == "述职报告.docx"
    original = ub.get(f"/reviews/reports/{report_b.pk}/original/")
    assert original.status_code == 200 and b"".join(original.streaming_content)[:2] == b"PK"

    # Ballots: the codes are shown once; only their hashes are kept.
    group_ids = dict(review.groups.values_list("name", "pk"))
    codes = {}
    for name, n in zip(group_ids, (4, 3, 3)):
        r = wc.post(f"/reviews/{review.pk}/ballots/", {"group": group_ids[name], "count": n, "output": "page"})
        assert r.status_code == 200
        codes[name] = re.findall(r"data-code>([0-9A-Z-]{19})<", page(r))
        assert len(codes[name]) == n
    all_codes = [c for cs in codes.values() for c in cs]
    stored = set(Ballot.objects.values_list("code_hash", flat=True))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in all_codes}
    again = page(wc.get(f"/reviews/{review.pk}/ballots/"))
    assert not any(c in again for c in all_codes)
    r = wc.post(f"/reviews/{review.pk}/ballots/", {"group": group_ids["群众代表"], "count": 2, "output": "xlsx"})
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active.iter_rows(
        values_only=True) for c in row]
    extra = [c for c in cells if isinstance(c, str) and re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", c)]
    assert len(extra) == 2 and Ballot.objects.count() == 12
    taken = AuditEntry.objects.filter(action="export", changes__kind="ballots").order_by("id")
    assert [e.changes["count"] for e in taken] == [4, 3, 3, 2]
    assert taken.last().changes["filters"]["form"] == "xlsx" and not any(
        c in str(e.changes) + e.note for e in taken for c in all_codes + extra)

    assert wc.post(f"/reviews/{review.pk}/status/", {"action": "open"}).status_code == 302
    review.refresh_from_db()
    assert review.status == "open"
    # While voting is open nobody sees counts.
    assert "结束投票后才显示票数" in page(wc.get(f"/reviews/{review.pk}/results/"))

    voter = Client()  # no login
    first = voter.post("/reviews/vote/", {"code": codes["党员代表"][0].lower()})
    assert first.status_code == 200 and "市财政局机关党委" in page(first) and "市教育局机关党委" in page(first)
    missing = voter.post("/reviews/vote/", {"code": codes["党员代表"][0], "step": "cast",
                                            f"grade_{report_a.pk}": "excellent"})
    assert "请为每一份述职报告选择等次，还未选择：市教育局机关党委" in page(missing) and not votes_cast()
    done = voter.post("/reviews/vote/", {"code": codes["党员代表"][0], "step": "cast",
                                         f"grade_{report_a.pk}": "excellent", f"grade_{report_b.pk}": "good"})
    assert "投票成功" in page(done) and votes_cast() == 2
    twice = voter.post("/reviews/vote/", {"code": codes["党员代表"][0], "step": "cast",
                                          f"grade_{report_a.pk}": "poor", f"grade_{report_b.pk}": "poor"})
    assert "这张选票已经投过票，每张选票只能投一次" in page(twice) and votes_cast() == 2
    for name, grade_a, grade_b in (("党员代表", "good", "fair"), ("两代表一委员", "excellent", "poor"),
                                   ("群众代表", "good", "good")):
        code = codes[name][1]
        voter.post("/reviews/vote/", {"code": code, "step": "cast", f"grade_{report_a.pk}": grade_a,
                                      f"grade_{report_b.pk}": grade_b})
    assert votes_cast() == 8

    assert wc.post(f"/reviews/{review.pk}/status/", {"action": "close"}).status_code == 302
    late = voter.post("/reviews/vote/", {"code": codes["群众代表"][2]})
    assert "已于" in page(late) and "结束投票，不能再投票" in page(late)
    assert votes_cast() == 8

    res = page(wc.get(f"/reviews/{review.pk}/results/"))
    row_a = re.search(rf'data-report="{report_a.pk}">(.*?)</tr>', res, re.S).group(1)
    counts = re.findall(r'data-grade="(\w+)">(\d+)<', row_a)
    assert counts == [("excellent", "2"), ("good", "2"), ("fair", "0"), ("poor", "0")]
    # 党员代表 (100 + 85) / 2 × 40% + 两代表一委员 100 × 30% + 群众代表 85 × 30%
    assert f"{(92.5 * 40 + 100 * 30 + 85 * 30) / 100:.2f}" in row_a
    assert "vendor/echarts.min.js" in res and 'id="results-data"' in res
    export = wc.get(f"/reviews/{review.pk}/results.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(export.streaming_content)))
    rows = list(wb["评议结果"].iter_rows(values_only=True))
    assert rows[1][:7] == ("市财政局机关党委", "李明", 2, 2, 0, 0, 4)
    assert rows[1][8] == pytest.approx((92.5 * 40 + 100 * 30 + 85 * 30) / 100)
    assert len(list(wb["分群体票数"].iter_rows())) == 1 + 2 * 3
    taken = AuditEntry.objects.get(action="export", changes__kind="review_results")
    assert taken.user.username == "wcadmin" and taken.changes["count"] == len(rows) - 1

    # The unit sees its own result only.
    own = page(ub.get(f"/reviews/{review.pk}/results/"))
    assert "市教育局机关党委" in own and "市财政局机关党委" not in own


def docx_bytes(paragraphs) -> bytes:
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


# ---- anonymity ----------------------------------------------------------------------------------

def test_a_vote_carries_nothing_that_leads_to_its_ballot_or_voter():
    fields = {f.name: f for f in VoteCount._meta.get_fields()}
    assert set(fields) == {"id", "review", "report", "group", "grade", "count", "writes"}
    assert not any(f.get_internal_type() in ("DateTimeField", "DateField", "TimeField") for f in fields.values())
    assert {f.related_model for f in fields.values() if f.is_relation} == {DutyReview, DutyReport, VoterGroup}
    # A ballot belongs to a group, never to a person or a login, and keeps no time of use.
    ballot_fields = {f.name: f for f in Ballot._meta.get_fields()}
    assert set(ballot_fields) == {"id", "group", "code_hash", "used"}
    assert {f.related_model for f in ballot_fields.values() if f.is_relation} == {VoterGroup}
    # Neither is reachable through the Django admin, not even by a superuser.
    assert not {VoteCount, Ballot} & set(admin.site._registry)


def test_no_page_or_api_maps_a_vote_to_a_voter(tree, personas):
    review, reports = make_review(tree)
    codes = ready(review, ballots=(10, 3, 3))
    # Five ballots say 好 to everything, then five 差: insertion order alone would tell them apart.
    members = codes["党员代表"]
    voter = login(personas["member_a"])  # logging in is recorded; voting must not be
    audit_before = AuditEntry.objects.count()
    for code in members[:5]:
        services.cast_ballot(code, grades_for(reports, "excellent", "excellent"))
    for code in members[5:]:
        services.cast_ballot(code, grades_for(reports, "poor", "poor"))
    # A logged-in person voting leaves no trace of themselves either.
    voter.post("/reviews/vote/", {"code": codes["群众代表"][0], "step": "cast",
                                  **{f"grade_{r.pk}": "fair" for r in reports}})
    anonymous = Client()
    anonymous.post("/reviews/vote/", {"code": codes["群众代表"][1], "step": "cast",
                                      **{f"grade_{r.pk}": "good" for r in reports}})
    assert votes_cast() == 24
    assert AuditEntry.objects.count() == audit_before  # casting writes no change history
    assert "sessionid" not in anonymous.cookies
    services.close_review(None, review)

    # Only counts are kept: ten 好 then ten 差 from the ten ballots, in no order at all.
    members = dict(VoteCount.objects.filter(group__name="党员代表", count__gt=0).values_list("grade")
                   .annotate(n=Sum("count")).order_by())
    assert members == {"excellent": 10, "poor": 10}

    # Every page and API endpoint, as the organizer and as a superuser: no code, no code hash.
    root = User.objects.create_superuser("root", password="Root@2026x")
    hashes = list(Ballot.objects.values_list("code_hash", flat=True))
    secrets_ = [c for cs in codes.values() for c in cs] + [c.replace("-", "") for cs in codes.values() for c in cs]
    urls = ["/reviews/", f"/reviews/{review.pk}/", f"/reviews/{review.pk}/results/",
            f"/reviews/{review.pk}/results.xlsx", f"/reviews/{review.pk}/ballots/",
            *[f"/reviews/reports/{r.pk}/" for r in reports], "/api/", "/api/schema/"]
    for user in (personas["wc_admin"], root):
        c = login(user)
        for url in urls:
            r = c.get(url)
            assert r.status_code in (200, 302, 404), url  # a superuser without a role sees no review
            body = (b"".join(r.streaming_content) if r.streaming else r.content).decode("utf-8", "replace")
            if "spreadsheet" in r.get("Content-Type", ""):
                wb = openpyxl.load_workbook(io.BytesIO(b"".join(c.get(url).streaming_content)))
                body = "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row)
            assert not any(s in body for s in secrets_ + hashes), url
            if url.startswith("/api/"):
                assert "ballot" not in body.lower() and "code_hash" not in body, url
    for path in ("/admin/reviews/votecount/", "/admin/reviews/ballot/"):
        assert login(root).get(path).status_code == 404
    # The history names who generated ballots and how many, never a code.
    entries = " ".join(str(e.changes) + e.note for e in AuditEntry.objects.filter(table__startswith="reviews."))
    assert "生成选票" in entries and not any(s in entries for s in secrets_ + hashes)


# ---- bad input ----------------------------------------------------------------------------------

def test_votes_refused_before_opening_twice_and_after_closing(tree):
    review, reports = make_review(tree)
    group = services.add_group(None, review, "党员代表", 100)
    codes = services.issue_ballots(None, group, 4)
    with pytest.raises(services.ReviewError, match="尚未开始投票"):
        services.cast_ballot(codes[0], grades_for(reports, "good", "good"))
    services.open_review(None, review)
    for bad, message in (("", "请输入选票上的票码"), ("ABCD", "票码应为 16 位"),
                         ("2345-6789-ABCD-EFGH", "票码不正确")):
        with pytest.raises(services.ReviewError, match=message):
            services.cast_ballot(bad, grades_for(reports, "good", "good"))
    with pytest.raises(services.ReviewError, match="还未选择：市教育局机关党委"):
        services.cast_ballot(codes[0], {reports[0].pk: "good"})
    with pytest.raises(services.ReviewError, match="不是有效的评议等次"):
        services.cast_ballot(codes[0], grades_for(reports, "good", "great"))
    with pytest.raises(services.ReviewError, match="不属于本次评议"):
        services.cast_ballot(codes[0], {**grades_for(reports, "good", "good"), 10**9: "good"})
    assert not votes_cast() and not Ballot.objects.filter(used=True).exists()
    assert services.cast_ballot(codes[0], grades_for(reports, "good", "fair")) == 2
    with pytest.raises(services.ReviewError, match="这张选票已经投过票"):
        services.cast_ballot(codes[0], grades_for(reports, "poor", "poor"))
    services.close_review(None, review)
    with pytest.raises(services.ReviewError, match="已于 .* 结束投票，不能再投票"):
        services.cast_ballot(codes[1], grades_for(reports, "poor", "poor"))
    assert votes_cast() == 2
    with pytest.raises(services.ReviewError, match="评议已结束，不能再生成选票"):
        services.issue_ballots(None, group, 1)


def test_upload_that_is_not_text_or_docx_is_refused(tree, personas, settings):
    review = services.create_review(None, tree["wc"], YEAR, "述职评议")
    c = login(personas["unit_admin_a"])
    url = f"/reviews/{review.pk}/submit/"
    base = {"org": tree["a"].pk, "reporter": tree["ma"].pk, "keep_original": "on"}
    long_text = own_text(3)
    cases = [
        (SimpleUploadedFile("报告.pdf", b"%PDF-1.4 x"), "述职报告只能上传 .txt 或 .docx 文件"),
        (SimpleUploadedFile("报告.doc", b"\xd0\xcf\x11\xe0 old"), "旧版 Word 文件（.doc），请在 Word 中“另存为” .docx"),
        (SimpleUploadedFile("报告.docx", long_text.encode()), "不是有效的 .docx 文件"),
        (SimpleUploadedFile("报告.docx", b"PK\x03\x04broken zip"), "不是有效的 .docx 文件"),
        (SimpleUploadedFile("报告.txt", long_text.encode("gbk")), "不是 UTF-8 编码的文本文件"),
        (SimpleUploadedFile("报告.txt", b""), "是空文件"),
        (SimpleUploadedFile("报告.txt", "太短".encode()), "报告正文过短"),
        (SimpleUploadedFile("报告.exe", b"MZ\x90\x00"), "述职报告只能上传 .txt 或 .docx 文件"),
    ]
    for upload, message in cases:
        r = c.post(url, {**base, "file": upload})
        assert r.status_code == 200 and message in page(r), (upload.name, message)
        assert "上传文件：" in page(r)
    r = c.post(url, {**base, "file": SimpleUploadedFile("报告.txt", long_text.encode()), "text": long_text})
    assert "请二选一" in page(r)
    r = c.post(url, {**base, "text": ""})
    assert "报告正文：未读到报告正文" in page(r)
    assert not DutyReport.objects.exists()
    assert not [f for f in Path(settings.MEDIA_ROOT).rglob("*") if f.is_file()]  # no stray original files
    # A UTF-8 .txt is read as is (a BOM dropped).
    r = c.post(url, {**base, "file": SimpleUploadedFile("报告.txt", "\ufeff".encode() + long_text.encode())})
    assert r.status_code == 302 and DutyReport.objects.get().text == long_text


def test_oversized_upload_is_refused(tree, personas, monkeypatch):
    monkeypatch.setattr(services, "REPORT_MAX_BYTES", 1024)
    review = services.create_review(None, tree["wc"], YEAR, "述职评议")
    c = login(personas["unit_admin_a"])
    big = ("这是一段很长的述职报告正文。" * 200).encode()
    r = c.post(f"/reviews/{review.pk}/submit/", {"org": tree["a"].pk, "reporter": tree["ma"].pk,
                                                 "file": SimpleUploadedFile("报告.txt", big)})
    assert "上传文件：“报告.txt”超过 1 KB 的上限" in page(r)
    assert not DutyReport.objects.exists()


def test_bad_review_settings(tree):
    wc = tree["wc"]
    cases = [
        (dict(year=YEAR + 1), "不能评议将来的年度"),
        (dict(title=""), "请填写名称"),
        (dict(vote_share=120), "应在 0 到 100 之间"),
        (dict(grade_points={"excellent": 100, "good": 85, "fair": 90, "poor": 50}), "依次降低"),
        (dict(grade_points={"excellent": 100, "good": 85}), "四个等次"),
        (dict(meeting_on=dt.date(YEAR + 3, 1, 1)), "应在"),
    ]
    for kw, message in cases:
        args = {"year": YEAR, "title": "述职评议", **kw}
        with pytest.raises(services.ReviewError, match=message):
            services.create_review(None, wc, args.pop("year"), args.pop("title"), **args)
    with pytest.raises(services.ReviewError, match="不组织述职评议"):
        services.create_review(None, tree["a1"], YEAR, "支部述职")
    services.create_review(None, wc, YEAR, "述职评议")
    with pytest.raises(services.ReviewError, match="已有同名的述职评议"):
        services.create_review(None, wc, YEAR, "述职评议")
    scheme = Scheme.objects.create(code="S", name="方案", year=YEAR - 1, level="unit")
    run = Run.objects.create(scheme=scheme, period=str(YEAR - 1), cycle="yearly",
                             period_start=dt.date(YEAR - 1, 1, 1), period_end=dt.date(YEAR - 1, 12, 31))
    with pytest.raises(services.ReviewError, match=f"所选考核是 {YEAR - 1} 年度的"):
        services.create_review(None, wc, YEAR, "另一次评议", run=run)
    # A draft run (暂定) has no final scores to combine with the votes.
    draft = Run.objects.create(scheme=Scheme.objects.create(code="D", name="方案", year=YEAR, level="unit"),
                               period=str(YEAR), cycle="yearly", period_start=dt.date(YEAR, 1, 1),
                               period_end=dt.date(YEAR, 12, 31), status=Run.Status.DRAFT, period_open=True)
    with pytest.raises(services.ReviewError, match="是暂定结果.*请选择已定稿的考核"):
        services.create_review(None, wc, YEAR, "另一次评议", run=draft)
    assert DutyReview.objects.count() == 1


def test_opening_needs_reports_weights_and_enough_ballots(tree, settings):
    settings.REVIEW_MIN_GROUP = 3
    review = services.create_review(None, tree["wc"], YEAR, "述职评议")
    with pytest.raises(services.ReviewError, match="还没有提交的述职报告"):
        services.open_review(None, review)
    services.submit_report(None, review, tree["a"], tree["ma"], text=own_text(1))
    with pytest.raises(services.ReviewError, match="请先设置投票群体"):
        services.open_review(None, review)
    g1 = services.add_group(None, review, "党员代表", 60)
    g2 = services.add_group(None, review, "群众代表", 30)
    services.issue_ballots(None, g1, 3)
    with pytest.raises(services.ReviewError, match="权重之和应为 100%，现为 90%"):
        services.open_review(None, review)
    services.update_group(None, g2, "群众代表", 40)
    with pytest.raises(services.ReviewError, match="“群众代表”只有 0 张选票；为保证投票匿名"):
        services.open_review(None, review)
    with pytest.raises(services.ReviewError, match="至少需要 3 张选票；“群众代表”本次至少生成 3 张"):
        services.issue_ballots(None, g2, 2)
    services.issue_ballots(None, g2, 3)
    with pytest.raises(services.ReviewError, match="已经设置"):
        services.add_group(None, review, "党员代表", 10)
    with pytest.raises(services.ReviewError, match="已生成选票，不能删除"):
        services.remove_group(None, g2)
    with pytest.raises(services.ReviewError, match="每次可生成 1 到 500 张"):
        services.issue_ballots(None, g2, 0)
    services.issue_ballots(None, g2, 1)  # a group that has enough may get more, one at a time
    services.open_review(None, review)
    assert DutyReview.objects.get().status == "open"
    with pytest.raises(services.ReviewError, match="不能再提交或修改述职报告"):
        services.submit_report(None, review, tree["b"], tree["mb"], text=own_text(2))
    with pytest.raises(services.ReviewError, match="只能修改评议会日期"):
        services.update_review(None, review, title="改名", vote_share=50)


def test_reporter_must_belong_to_the_reporting_org(tree):
    review = services.create_review(None, tree["wc"], YEAR, "述职评议")
    with pytest.raises(services.ReviewError, match="王芳 不是市财政局机关党委的党员或委员"):
        services.submit_report(None, review, tree["a"], tree["mb"], text=own_text(1))
    with pytest.raises(services.ReviewError, match="不在示例市直机关工委的评议范围内"):
        services.submit_report(None, review, tree["wc"], tree["ma"], text=own_text(1))
    assert not DutyReport.objects.exists()


# ---- copy detection -----------------------------------------------------------------------------

def seed_orgs(tree, n):
    orgs = []
    for i in range(n):
        o = factories.org(tree["wc"], kind="organ_committee", name=f"第{i + 1}单位机关党委", code=f"U{i + 1}")
        orgs.append((o, factories.member(o, name=f"书记{i + 1}")))
    return orgs


def test_seed_speeches_are_independent_and_a_planted_paragraph_is_found(tree):
    assert len(SEEDS) == 5
    orgs = seed_orgs(tree, 6)
    review = services.create_review(None, tree["wc"], YEAR, "述职评议")
    seeds = [p.read_text(encoding="utf-8") for p in SEEDS]
    reports = [services.submit_report(None, review, o, m, text=t) for (o, m), t in zip(orgs, seeds)]
    assert services.check_copies([r.pk for r in reports]) == 0  # shared formulations are not copies

    source = reports[3].text
    paragraph = max(source.split("\n"), key=len)[40:340]
    original = own_text(7, "第6单位机关党委")
    half = original.index("\n", len(original) // 2)
    planted = original[:half] + paragraph + original[half:]
    new = services.submit_report(None, review, orgs[5][0], orgs[5][1], text=planted)
    assert services.check_copies([new.pk]) == 1
    finding = CopyFinding.objects.get()
    other, passages = finding.seen_from(new.pk)
    assert other == reports[3].pk
    start = new.text.index(paragraph)
    covered = sum(min(a1, start + len(paragraph)) - max(a0, start) for a0, a1, _, _ in passages)
    assert covered >= 0.9 * len(paragraph)
    assert all(a0 >= start - 5 and a1 <= start + len(paragraph) + 5 for a0, a1, _, _ in passages)
    s = source.index(paragraph)
    assert all(b0 >= s - 5 and b1 <= s + len(paragraph) + 5 for _, _, b0, b1 in passages)


def test_same_org_earlier_report_is_compared_other_orgs_earlier_ones_are_not(tree):
    old, old_reports = make_review(tree, year=YEAR - 1, texts=[own_text(11), own_text(12)])
    copied_own = old_reports[0].text.split("\n")[2]  # a's own-work paragraph of last year
    copied_other = old_reports[1].text.split("\n")[3]  # b's, last year: not in a's corpus
    text = own_text(13)
    lines = text.split("\n")
    lines[2] += copied_own
    lines[4] += copied_other
    new, (report_a, report_b) = make_review(tree, texts=["\n".join(lines), own_text(14)])
    assert services.check_copies([report_a.pk, report_b.pk]) == 1
    f = CopyFinding.objects.get()
    assert {f.report_id, f.other_id} == {report_a.pk, old_reports[0].pk}
    # Checking again replaces the findings, never duplicates them.
    assert services.check_copies([report_a.pk]) == 1 and CopyFinding.objects.count() == 1


def test_findings_shown_side_by_side_only_to_who_may_see_both(tree, personas):
    texts = [own_text(21), own_text(22)]
    paragraph = texts[1].split("\n")[2]
    texts[0] = texts[0].replace("\n二、", paragraph + "\n二、", 1)
    review, (ra, rb) = make_review(tree, texts=texts)
    services.check_copies([ra.pk, rb.pk])
    wc = login(personas["wc_admin"])
    body = page(wc.get(f"/reviews/reports/{ra.pk}/"))
    assert 'class="card mb-2 finding"' in body and "全文对照" in body
    marked = re.findall(r'<mark class="copied"[^>]*>(.*?)</mark>', body, re.S)
    assert any(len(m) > 100 and m[:100] in paragraph for m in marked)
    comp = page(wc.get(f"/reviews/reports/{ra.pk}/compare/?with={rb.pk}"))
    left = comp.split('data-side="a"')[1].split('data-side="b"')[0]
    right = comp.split('data-side="b"')[1]
    assert re.search(r'<mark class="copied" id="a1">', left) and re.search(r'<mark class="copied" id="b1">', right)
    assert "市教育局机关党委" in comp
    detail = page(wc.get(f"/reviews/{review.pk}/"))
    assert 'data-findings="1"' in detail
    # The unit sees its own report, but not the other unit's text, nor that it was compared with it.
    ua = page(login(personas["unit_admin_a"]).get(f"/reviews/reports/{ra.pk}/"))
    assert "finding" not in ua and "市教育局机关党委" not in ua
    assert login(personas["unit_admin_a"]).get(f"/reviews/reports/{ra.pk}/compare/?with={rb.pk}").status_code == 302
    assert login(personas["unit_admin_a"]).get(f"/reviews/reports/{rb.pk}/").status_code == 404


# ---- results and the metric ---------------------------------------------------------------------

def test_results_combine_votes_and_assessment_by_the_reviews_weights(tree, settings):
    scheme = Scheme.objects.create(code="S", name="单位考核", year=YEAR, level="unit", total=Decimal(200))
    run = Run.objects.create(scheme=scheme, period=str(YEAR), cycle="yearly", period_start=dt.date(YEAR, 1, 1),
                             period_end=dt.date(YEAR, 12, 31))
    TargetScore.objects.create(run=run, org=tree["a"], total=Decimal(180), grade="excellent", place=1)
    review = services.create_review(None, tree["wc"], YEAR, "述职评议", vote_share=60, run=run,
                                    grade_points={"excellent": 100, "good": 80, "fair": 60, "poor": 0})
    ra = services.submit_report(None, review, tree["a"], tree["ma"], text=own_text(1))
    rb = services.submit_report(None, review, tree["b"], tree["mb"], text=own_text(2))
    codes = ready(review)
    for code, (ga, gb) in zip(codes["党员代表"], (("excellent", "poor"), ("good", "fair"), ("good", "fair"))):
        services.cast_ballot(code, {ra.pk: ga, rb.pk: gb})
    services.cast_ballot(codes["两代表一委员"][0], {ra.pk: "fair", rb.pk: "poor"})
    services.cast_ballot(codes["群众代表"][0], {ra.pk: "excellent", rb.pk: "good"})
    services.close_review(None, review)
    res = queries.results(DutyReview.objects.select_related("run__scheme").get(), [ra, rb])
    a, b = res.rows
    vote_a = ((100 + 80 + 80) / 3 * 40 + 60 * 30 + 100 * 30) / 100
    assert a.vote_score == pytest.approx(vote_a)
    assert a.good_share == pytest.approx((1 * 40 + 0 * 30 + 1 * 30) / 100)
    assert a.assessment == pytest.approx(90.0)
    assert a.combined == pytest.approx(0.6 * vote_a + 0.4 * 90)
    assert b.assessment is None and b.combined is None  # not assessed: no combined figure is made up
    assert [c.total for c in a.by_group] == [3, 1, 1]
    # With the default minimum group size (5) these groups of 3, 1 and 1 voters are counted
    # together as “其他”: one mean over the five votes.
    settings.REVIEW_MIN_GROUP = 5
    pooled = queries.results(DutyReview.objects.select_related("run__scheme").get(), [ra, rb])
    assert {g.name for g in pooled.pooled} == {"党员代表", "两代表一委员", "群众代表"} and not pooled.hidden
    assert [(c.group.name, c.total) for c in pooled.rows[0].by_group] == [("其他（党员代表、两代表一委员、群众代表）", 5)]
    assert pooled.rows[0].vote_score == pytest.approx((100 + 80 + 80 + 60 + 100) / 5)


def random_votes(rng, review, reports, ballots=(6, 4, 4)):
    codes = ready(review, ballots=ballots)
    for cs in codes.values():
        for code in cs:
            if rng.random() < 0.85:
                services.cast_ballot(code, {r.pk: rng.choice(("excellent", "good", "fair", "poor")) for r in reports})


def reference_metric(targets, mode):
    """Straight from the vote rows: per report, per group mean/share weighted; per target the mean
    over the reports of its subtree's closed reviews."""
    per_report = defaultdict(lambda: defaultdict(list))
    for c in VoteCount.objects.filter(review__status="closed", count__gt=0).select_related("report__org", "group",
                                                                                          "review"):
        per_report[c.report][c.group] += [c.grade] * c.count
    out = {}
    for t in targets:
        values = []
        for report, groups in per_report.items():
            if not report.org.path.startswith(t.path):
                continue
            points = report.review.points()
            num = den = 0.0
            for group, grades in groups.items():
                if mode == "share":
                    x = sum(g in ("excellent", "good") for g in grades) / len(grades)
                else:
                    x = sum(points[g] for g in grades) / len(grades) / 100
                num += float(group.weight) * x
                den += float(group.weight)
            values.append(num / den)
        out[t.org_id] = sum(values) / len(values) if values else None
    return out


@pytest.mark.parametrize("mode", ["share", "score"])
def test_review_votes_metric_matches_a_reference(tree, mode):
    rng = random.Random(5)
    a2 = factories.org(tree["a"], kind="branch", name="财政局第二党支部", code="CZ02")
    m2 = factories.member(a2, name="赵书记")
    wc_review, wc_reports = make_review(tree)
    random_votes(rng, wc_review, wc_reports)
    services.close_review(None, wc_review)
    unit_review = services.create_review(None, tree["a"], YEAR, "财政局支部书记述职评议",
                                         grade_points={"excellent": 95, "good": 80, "fair": 60, "poor": 30})
    unit_reports = [services.submit_report(None, unit_review, tree["a1"], tree["ma"], text=own_text(31)),
                    services.submit_report(None, unit_review, a2, m2, text=own_text(32))]
    random_votes(rng, unit_review, unit_reports)
    services.close_review(None, unit_review)
    # An open review and a review of another year do not count.
    open_review, open_reports = make_review(tree, title="另一次评议")
    random_votes(rng, open_review, open_reports)
    targets = [metrics.Target(o.pk, o.code, o.name, o.path) for o in
               Organization.objects.filter(pk__in=[tree["a"].pk, tree["b"].pk, tree["a1"].pk, a2.pk, tree["b1"].pk])]
    got = metrics.compute("review_votes", targets, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31), {"mode": mode},
                          timezone.localdate())
    want = reference_metric(targets, mode)
    assert votes_cast(review=open_review)
    for t in targets:
        if want[t.org_id] is None:
            assert got[t.org_id].ratio is None, t.name
        else:
            assert got[t.org_id].ratio == pytest.approx(want[t.org_id]), t.name
    assert got[tree["b1"].pk].ratio is None  # b1 did not report
    assert got[tree["a"].pk].denominator == votes_cast(
        review__status="closed", report__org__path__startswith=tree["a"].path)
    last_year = metrics.compute("review_votes", targets, dt.date(YEAR - 1, 1, 1), dt.date(YEAR - 1, 12, 31), {},
                                timezone.localdate())
    assert all(v.ratio is None for v in last_year.values())


def test_metric_is_registered_and_set_based(tree, django_assert_max_num_queries):
    assert "review_votes" in metrics.REGISTRY and metrics.REGISTRY["review_votes"].params == ("mode",)
    review, reports = make_review(tree)
    random_votes(random.Random(1), review, reports)
    services.close_review(None, review)
    targets = [metrics.Target(o.pk, o.code, o.name, o.path) for o in Organization.objects.all()]
    with django_assert_max_num_queries(2):
        metrics.compute("review_votes", targets, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31), {}, timezone.localdate())


# ---- comments to rectify ------------------------------------------------------------------------

def test_comments_become_items_tracked_to_closure(tree, personas):
    review, (ra, rb) = make_review(tree)
    wc, ua, ub = login(personas["wc_admin"]), login(personas["unit_admin_a"]), login(personas["unit_admin_b"])
    url = f"/reviews/reports/{ra.pk}/items/"
    wc.post(url, {"action": "add", "text": "支部书记培训覆盖不全，请制定培训计划"})
    assert not Item.objects.exists()  # before the meeting there is nothing to comment on
    ready(review)
    due = timezone.localdate() + dt.timedelta(days=30)
    wc.post(url, {"action": "add", "text": "支部书记培训覆盖不全，请制定培训计划", "due_on": due.isoformat()})
    item = Item.objects.get()
    assert (item.source, item.source_id, item.list, item.status, item.deadline) == ("review", ra.pk, "problem",
                                                                                     "pending", due)
    assert (item.org, item.issuer, item.description) == (ra.org, review.org, "支部书记培训覆盖不全，请制定培训计划")
    assert ua.post(url, {"action": "add", "text": "自己给自己提意见"}).status_code == 404
    assert ub.post(url, {"action": "add", "text": "给别人提意见"}).status_code == 404
    r = wc.post(url, {"action": "add", "text": "", "due_on": due.isoformat()}, follow=True)
    assert "请填写点评意见及整改要求" in page(r) and Item.objects.count() == 1
    # The report lists its items, linked to each item's page; the one list filters by the report.
    shown = page(ua.get(f"/reviews/reports/{ra.pk}/"))
    assert f"/items/{item.pk}/" in shown and "待签收" in shown and f"source_id={ra.pk}" in shown
    assert ua.get(url).url == f"/items/?source=review&source_id={ra.pk}"
    assert "1 项整改中" in page(ua.get(f"/reviews/{review.pk}/"))
    unit = personas["unit_admin_a"]
    rectify.sign(unit, item)
    rectify.request_close(unit, item, evidence="已制定年度培训计划，完成两期培训")
    rectify.close(personas["wc_admin"], item, verification="培训记录齐全")
    assert "已销号" in page(ua.get(f"/reviews/reports/{ra.pk}/"))
    assert "项整改中" not in page(ua.get(f"/reviews/{review.pk}/"))


def test_a_comment_without_a_deadline_is_due_in_three_months_and_names_the_reporter(tree):
    review, (ra, _) = make_review(tree)
    ready(review)
    today = timezone.localdate()
    item = services.add_item(None, ra, "三会一课记录不规范", today=today)
    assert item.deadline == today + dt.timedelta(days=services.DEFAULT_DEADLINE_DAYS)
    assert item.responsible_id == (ra.reporter_id if ra.reporter.org.path.startswith(ra.org.path) else None)
    with pytest.raises(services.ReviewError, match="整改期限"):
        services.add_item(None, ra, "x", due_on=today - dt.timedelta(days=1), today=today)
    assert Item.objects.count() == 1


# ---- scoping ------------------------------------------------------------------------------------

def test_who_sees_and_runs_a_review(tree, personas):
    review, (ra, rb) = make_review(tree)
    unit_review = services.create_review(None, tree["a"], YEAR, "财政局支部书记述职评议")
    branch_report = services.submit_report(None, unit_review, tree["a1"], tree["ma"], text=own_text(5))
    get = {k: login(u) for k, u in personas.items()}
    # Organizer and readers of the whole tree.
    assert get["wc_admin"].get(f"/reviews/{review.pk}/ballots/").status_code == 200
    assert get["leader"].get(f"/reviews/{review.pk}/").status_code == 200
    assert get["leader"].get(f"/reviews/{review.pk}/ballots/").status_code == 404
    assert get["leader"].post(f"/reviews/{review.pk}/status/", {"action": "open"}).status_code == 404
    # A unit reports to the working committee's review and runs its own.
    assert get["unit_admin_a"].get(f"/reviews/{review.pk}/ballots/").status_code == 404
    assert get["unit_admin_a"].get(f"/reviews/{unit_review.pk}/ballots/").status_code == 200
    assert get["unit_admin_b"].get(f"/reviews/{unit_review.pk}/").status_code == 404
    assert get["unit_admin_b"].get(f"/reviews/reports/{ra.pk}/").status_code == 404
    assert get["unit_admin_b"].get(f"/reviews/{review.pk}/submit/?org={tree['a'].pk}").status_code == 404
    listing = page(get["unit_admin_b"].get("/reviews/"))
    assert review.title in listing and unit_review.title not in listing
    # A branch secretary sees their unit's review (they report in it), not the working committee's.
    assert get["secretary_a1"].get(f"/reviews/{unit_review.pk}/").status_code == 200
    assert get["secretary_a1"].get(f"/reviews/{review.pk}/").status_code == 404
    # A plain member sees the report they gave, and nothing else.
    assert get["member_a"].get(f"/reviews/reports/{branch_report.pk}/").status_code == 200
    assert get["member_a"].get(f"/reviews/reports/{ra.pk}/").status_code == 200  # 李明 reported for 财政局 too
    assert get["member_a"].get(f"/reviews/reports/{rb.pk}/").status_code == 404
    assert get["member_a"].get(f"/reviews/{unit_review.pk}/ballots/").status_code == 404


# ---- query counts -------------------------------------------------------------------------------

def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_page_queries_do_not_grow_with_reports_and_votes(tree, personas):
    c = login(personas["wc_admin"])

    def scenario(n, label):
        orgs = [factories.org(tree["wc"], kind="organ_committee", name=f"{label}单位{i}", code=f"{label}{i}")
                for i in range(n)]
        people = [factories.member(o, name=f"{label}书记{i}") for i, o in enumerate(orgs)]
        review = services.create_review(None, tree["wc"], YEAR, f"{label}评议")
        base = [own_text(ord(label) * 100 + i) for i in range(n)]
        # Each report copies a paragraph of the next one, so every report has findings to show.
        texts = [t + "\n" + base[(i + 1) % n].split("\n")[2] for i, t in enumerate(base)]
        reports = [services.submit_report(None, review, o, m, text=t) for o, m, t in zip(orgs, people, texts)]
        assert services.check_copies([r.pk for r in reports]) == (n if n > 2 else 1)
        random_votes(random.Random(n), review, reports, ballots=(n + 3, 3, 3))
        services.add_item(None, reports[0], "请整改")
        services.close_review(None, review)
        return review, reports

    small, small_reports = scenario(2, "S")
    listing = _queries(c, "/reviews/")
    large, large_reports = scenario(9, "L")
    assert _queries(c, "/reviews/") == listing
    for path in ("/reviews/{}/", "/reviews/{}/results/"):
        assert _queries(c, path.format(small.pk)) == _queries(c, path.format(large.pk)), path
    assert _queries(c, f"/reviews/reports/{small_reports[0].pk}/") == \
        _queries(c, f"/reviews/reports/{large_reports[0].pk}/")


# ---- demo data ----------------------------------------------------------------------------------

def test_demo_build_on_a_small_tree(tree):
    for i in range(3):
        o = factories.org(tree["wc"], kind="organ_committee", name=f"示例单位{i}机关党委", code=f"D{i}")
        factories.member(o, name=f"示例书记{i}")
    today = dt.date(YEAR, 11, 1)
    made = demo.build(today, seed=3)
    assert made["closed"] == 2 and made["reports"] == 2 * 5
    assert made["votes"] == votes_cast() > 0
    assert made["ballots"] == Ballot.objects.count() and made["items"] == Item.objects.filter(source="review").count() > 0
    assert set(DutyReview.objects.values_list("year", flat=True)) == {YEAR - 2, YEAR - 1}
    # Exactly the planted copies are found: one from another unit, one from the same org's last year.
    found = {(f.report.org.code, f.report.review.year, f.other.org.code, f.other.review.year)
             for f in CopyFinding.objects.select_related("report__org", "other__org", "report__review", "other__review")}
    pk = {(r.org.code, r.review.year): r.pk for r in DutyReport.objects.select_related("org", "review")}
    planted = {tuple(x for key in sorted(((p["report"], YEAR - 1), (p["source"], p["source_year"])), key=pk.get)
                     for x in key) for p in made["planted"]}
    assert len(made["planted"]) == 2 and found == planted
    assert {p["source_year"] for p in made["planted"]} == {YEAR - 1, YEAR - 2}


# ---- a real browser -----------------------------------------------------------------------------

@pytest.mark.browser
def test_a_voter_without_an_account_votes_in_a_browser(transactional_db, live_server, tree, browser_page):
    review, reports = make_review(tree)
    codes = ready(review)
    page_ = browser_page
    page_.goto(live_server.url + "/reviews/vote/")
    page_.fill("input[name=code]", codes["群众代表"][0].lower().replace("-", " "))
    page_.click("text=下一步")
    page_.click(f"label[for=g{reports[0].pk}_excellent]")
    page_.click(f"label[for=g{reports[1].pk}_fair]")
    page_.on("dialog", lambda d: d.accept())
    page_.click("text=提交选票")
    page_.wait_for_selector("text=投票成功")
    assert sorted(VoteCount.objects.filter(count=1).values_list("grade", flat=True)) == ["excellent", "fair"]
    assert [c["name"] for c in page_.context.cookies()] == ["csrftoken"]  # no session for a voter
    page_.goto(live_server.url + "/reviews/vote/")
    page_.fill("input[name=code]", codes["群众代表"][0])
    page_.click("text=下一步")
    page_.wait_for_selector("text=这张选票已经投过票，每张选票只能投一次")


def test_replacing_a_report_before_voting(tree, personas, django_capture_on_commit_callbacks, settings):
    review = services.create_review(None, tree["wc"], YEAR, "述职评议")
    deputy = factories.member(tree["a1"], name="钱副书记")
    c = login(personas["unit_admin_a"])
    url = f"/reviews/{review.pk}/submit/"
    base = {"org": tree["a"].pk, "reporter": tree["ma"].pk, "keep_original": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        c.post(url, {**base, "file": SimpleUploadedFile("报告.docx", docx_bytes(own_text(41).split("\n")))})
    report = DutyReport.objects.get()
    stored = Path(settings.MEDIA_ROOT) / report.original.name
    assert stored.is_file() and report.check_is_current
    # Only the reporter changes: the text stays, and the check runs again (their earlier reports count).
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(url, {**base, "reporter": deputy.pk, "text": ""})
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.reporter == deputy and report.text == own_text(41) and report.original_name == "报告.docx"
    assert report.check_is_current
    # Typed text replaces the file's: the file is removed with it.
    with django_capture_on_commit_callbacks(execute=True):
        c.post(url, {**base, "text": own_text(42)})
    report.refresh_from_db()
    assert report.text == own_text(42) and not report.original and not stored.exists()
    history = page(c.get(f"/reviews/reports/{report.pk}/"))
    assert "上传文件：报告.docx" in history and "修改正文" in history and "钱副书记" in history
    assert DutyReport.objects.count() == 1
