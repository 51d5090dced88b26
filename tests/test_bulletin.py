"""Bulletins (通报): the .docx opens and carries the figures, the lists and the date in 公文
style; the page shows the same text; who reads the full text and who an excerpt; the command;
the archive (paginated, filtered, scoped); query counts that do not grow with the targets."""
import datetime as dt
import html
import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from dangjian.assessment import bulletin, services
from dangjian.assessment.models import Admonition, Level, Run, TargetScore
from dangjian.core.models import AuditEntry
from tests import factories
from tests.factories import TODAY, branch_with, login, record, scheme, score_manual

GRADING = dict(thresholds={"excellent": 75, "good": 65, "fair": 55}, admonish_below=62)



def page_text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", response.content.decode()))


def docx_of(data: bytes):
    return Document(io.BytesIO(data))


def docx_text(d) -> str:
    return "\n".join(p.text for p in d.paragraphs)


@pytest.fixture
def branch_run(city):
    """A quarterly grading of the city's branches: four scored 5/5 on the manual indicator
    (so some reach 好), the rest 0/5 (so some fall below the admonition line)."""
    s = scheme(level=Level.BRANCH, **GRADING)
    score_manual(s, "2025Q2", score=0, comment="党建与业务工作结合不紧密")
    manual = s.indicators.get(method="manual")
    for b in city["branches"][2:6]:
        services.enter_manual_score(None, manual, "2025Q2", b, 5, "党建与业务工作结合紧密")
    run = services.run_evaluation(None, s, "2025Q2", today=TODAY)
    return Run.objects.select_related("scheme").get(pk=run.pk)


def final_run(s, period):
    """A run with every manual score entered: final, so a bulletin may be issued from it."""
    score_manual(s, period)
    run = services.run_evaluation(None, s, period, today=TODAY)
    assert run.is_final
    return run


def expected_lists(run):
    """Good and lagging organizations with their scores, straight from the stored rows."""
    scores = list(TargetScore.objects.filter(run=run).select_related("org"))
    good = [(s.org.name, s.total) for s in scores if s.grade == "excellent"]
    lagging = [(s.org.name, s.total) for s in scores if s.grade == "poor" or s.total < run.scheme.admonish_below]
    return scores, good, lagging


# ---- Chinese forms -----------------------------------------------------------------------------

@pytest.mark.parametrize("day, text", [
    (dt.date(2026, 11, 23), "二〇二六年十一月二十三日"),
    (dt.date(2025, 10, 10), "二〇二五年十月十日"),
    (dt.date(2030, 1, 31), "二〇三〇年一月三十一日"),
    (dt.date(2008, 12, 20), "二〇〇八年十二月二十日"),
])
def test_date_in_chinese(day, text):
    assert bulletin.cn_date(day) == text


def test_period_and_title_words():
    assert bulletin.period_text("2026-03") == "2026年3月"
    assert bulletin.period_text("2026Q3") == "2026年第三季度"
    assert bulletin.period_text("2026") == "2026年度"
    run = Run(period="2026-10", cycle=Run.Cycle.MONTHLY)
    assert bulletin.title_of(run) == "关于2026年10月党建工作考评情况的通报"


def test_signature_and_date_follow_gbt9704():
    # The date's first character two to the right of the signature's, the date two from the right.
    short = bulletin.Bulletin(title="", addressee="", blocks=[], signature="示例市直机关工委",
                              date=dt.date(2026, 11, 23), figures=None, good=[], lagging=[], admonished=[])
    name, date = short.signature_indents()
    assert date == 2 and (28 - name - len(short.signature)) + 2 == 28 - date - len(short.date_text)
    # A signature longer than the date keeps two characters from the right and pushes the date in.
    long = bulletin.Bulletin(title="", addressee="", blocks=[], signature="中共示例市直属机关工作委员会办公室",
                             date=dt.date(2026, 1, 1), figures=None, good=[], lagging=[], admonished=[])
    name, date = long.signature_indents()
    assert name == 2 and (28 - name - len(long.signature)) + 2 == 28 - date - len(long.date_text)


# ---- the .docx -----------------------------------------------------------------------------------

def test_docx_opens_and_contains_the_figures_lists_and_date(branch_run):
    run = branch_run
    scores, good, lagging = expected_lists(run)
    assert good and lagging, "the fixture must produce both lists"
    doc = bulletin.for_run(run)
    d = docx_of(bulletin.to_docx(doc))
    paragraphs = [p.text for p in d.paragraphs]
    text = docx_text(d)

    assert "关于2025年第二季度党建工作责任落实情况分级量化考核结果的通报" in paragraphs
    assert "各部门（单位）党组织、各党支部：" in paragraphs
    counts = {g: sum(1 for s in scores if s.grade == g) for g in ("excellent", "good", "fair", "poor")}
    assert (f"评为“好”的{counts['excellent']}个，“较好”的{counts['good']}个，“一般”的{counts['fair']}个，"
            f"“差”的{counts['poor']}个") in text
    totals = [s.total for s in scores]
    average = (sum(totals) / len(totals)).quantize(Decimal("0.01"))
    assert f"本次共分级量化考核{len(scores)}个党支部" in text
    assert f"平均得分{average}分，最高{max(totals)}分，最低{min(totals)}分" in text
    assert f"（一）评为“好”的党支部（{len(good)}个）" in paragraphs
    assert f"（二）需要改进的党支部（{len(lagging)}个）" in paragraphs
    for name, total in good + lagging:
        assert f"{name}（{total}分" in text, name
    # Lagging units are shown with the indicators that cost them most (evidence, not a verdict).
    assert "主要失分指标：“" in text
    assert "已有的工作记录和考核组评分" in text  # the scheme has a manual indicator
    # Issued from a final run only: every manual score is in, and nothing says otherwise.
    assert not any(row.get("pending") for s in scores for row in s.breakdown)
    assert "尚未录入" not in text and "暂定" not in text
    talks = paragraphs[paragraphs.index("三、约谈安排") + 2:paragraphs.index("四、有关要求")]
    for a in Admonition.objects.filter(run=run).select_related("org"):
        assert any(p.endswith(("；", "。")) and f"．{a.org.name}" in p for p in talks), a.org.name
    assert paragraphs[-2] == "示例市直机关工委"
    assert paragraphs[-1] == bulletin.cn_date(timezone.localtime(run.computed_at).date())
    # Only organizations are named: no member of the city appears.
    assert "李明" not in text and "王芳" not in text and "成员0" not in text


def test_docx_is_laid_out_as_an_official_document(branch_run):
    d = docx_of(bulletin.to_docx(bulletin.for_run(branch_run)))
    s = d.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)  # A4 (stored in twips)
    assert [round(m.mm) for m in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)] == [37, 35, 28, 26]

    def east_asia(p):
        return p.runs[0]._r.rPr.rFonts.get(qn("w:eastAsia"))

    by_text = {p.text: p for p in d.paragraphs if p.text}
    title = by_text[bulletin.title_of(branch_run)]
    assert title.alignment == 1 and title.runs[0].font.size == Pt(22) and east_asia(title) == "方正小标宋简体"
    body = next(p for t, p in by_text.items() if t.startswith("根据《"))
    assert body.runs[0].font.size == Pt(16) and east_asia(body) == "仿宋_GB2312"
    assert body.paragraph_format.first_line_indent == Pt(32)
    assert body.paragraph_format.line_spacing == Pt(28.95)
    assert east_asia(by_text["一、总体情况"]) == "黑体"
    assert east_asia(next(p for t, p in by_text.items() if t.startswith("（一）"))) == "楷体_GB2312"
    assert by_text["示例市直机关工委"].alignment == 2  # right
    # — N — page numbers with a PAGE field, on odd and even pages.
    assert d.settings.odd_and_even_pages_header_footer
    for footer in (s.footer, s.even_page_footer):
        p = footer.paragraphs[0]
        assert p.text.startswith("— ") and p.text.endswith(" —")
        assert "PAGE" in "".join(e.text or "" for e in p._p.iter(qn("w:instrText")))
    # Missing fonts fall back to installed ones named in the font table.
    fonts = next(p for p in d.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml").blob.decode()
    assert re.search(r'w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>', fonts)
    assert re.search(r'w:name="方正小标宋简体"><w:altName w:val="宋体"/>', fonts)


def test_a_run_with_nobody_good_or_lagging_says_so(city):
    s = scheme(level=Level.UNIT, thresholds={"excellent": 99.5, "good": 1, "fair": 0.5}, admonish_below=0)
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    text = bulletin.for_run(run).text
    assert "本次没有评为“好”的单位。" in text
    assert "本次没有评为“差”或得分低于约谈分数线的单位。" in text
    assert "本次没有需要约谈的部门（单位）党组织。" in text
    assert "各部门（单位）党组织：" in text


def test_a_scheme_without_manual_indicators_cites_no_assessors(city):
    s = services.create_scheme(None, code="M", name="组织设置考评方案", year=2025, level="branch", admonish_below=100)
    services.save_indicators(None, s, [dict(category="组织建设", name="班子健全、按期换届", weight=100, method="metric",
                                            metric="alerts_clear")])
    text = bulletin.for_run(services.run_evaluation(None, s, "2025-06", today=TODAY)).text
    assert "依据机关党建工作平台已有的工作记录，按照1项考核指标" in text and "考核组评分" not in text
    # an indicator's name holding a 、 stays one name
    assert "“班子健全、按期换届”" in text


def test_held_admonitions_are_reported_with_their_date(branch_run):
    adm = Admonition.objects.filter(run=branch_run).select_related("org").first()
    services.record_admonition(None, adm, talked_on=dt.date(2025, 7, 10), talked_with="支部书记",
                               talked_by="工委副书记", outcome="提出整改要求三条", deadline=dt.date(2025, 8, 10))
    text = bulletin.for_run(branch_run).text
    assert f"{adm.org.name}（已于2025年7月10日约谈）" in text
    assert "支部书记" not in text and "工委副书记" not in text  # people are not named


# ---- the page ----------------------------------------------------------------------------------

def test_page_shows_the_same_text_as_the_docx(branch_run, personas):
    c = login(personas["wc_admin"])
    r = c.get(f"/assessment/runs/{branch_run.pk}/bulletin/")
    assert r.status_code == 200
    shown = page_text(r)
    d = docx_of(c.get(f"/assessment/runs/{branch_run.pk}/bulletin.docx").getvalue())
    lines = [p.text for p in d.paragraphs if p.text]
    assert len(lines) > 15
    for line in lines:
        assert line in shown, line
    assert "节选" not in shown


def test_docx_download(branch_run, personas):
    r = login(personas["leader"]).get(f"/assessment/runs/{branch_run.pk}/bulletin.docx")
    assert r.status_code == 200
    assert r["Content-Type"] == bulletin.DOCX_TYPE
    assert "attachment" in r["Content-Disposition"] and ".docx" in r["Content-Disposition"]
    assert bulletin.title_of(branch_run) in docx_text(docx_of(r.getvalue()))
    taken = AuditEntry.objects.get(action="export", changes__kind="bulletin")
    assert taken.user.username == "leader" and taken.changes["filters"]["form"] == "docx"
    assert taken.changes["count"] == branch_run.target_count


def test_reading_a_bulletin_page_is_recorded(branch_run, personas):
    assert login(personas["unit_admin_a"]).get(f"/assessment/runs/{branch_run.pk}/bulletin/").status_code == 200
    taken = AuditEntry.objects.get(action="export", changes__kind="bulletin")
    assert taken.user.username == "unita" and taken.changes["filters"] == {
        "run": branch_run.pk, "form": "page", "excerpt": "是"}


def test_unit_officer_reads_an_excerpt_naming_only_their_own_organizations(branch_run, city, personas):
    scores = list(TargetScore.objects.filter(run=branch_run).select_related("org"))
    mine = [s.org.name for s in scores if s.org.path.startswith(city["a"].path)]
    others = [s.org.name for s in scores if not s.org.path.startswith(city["a"].path)]
    c = login(personas["unit_admin_a"])
    r = c.get(f"/assessment/runs/{branch_run.pk}/bulletin/")
    assert r.status_code == 200
    shown = page_text(r)
    d = docx_text(docx_of(c.get(f"/assessment/runs/{branch_run.pk}/bulletin.docx").getvalue()))
    for text in (shown, d):
        assert "本文本为“市财政局机关党委”范围节选" in text
        assert not [n for n in others if n in text]
        # the figures are the whole run's
        assert f"本次共分级量化考核{len(scores)}个党支部" in text
    listed = [n for n in mine if n in d]
    _, good, lagging = expected_lists(branch_run)
    assert set(listed) == {n for n, _ in good + lagging} & set(mine)


def test_who_may_read_a_bulletin(city, personas):
    units = final_run(scheme(level=Level.UNIT, code="U"), "2025-06")
    branches = final_run(scheme(level=Level.BRANCH, code="B"), "2025-06")
    expected = {
        # (unit-level run, branch-level run)
        "wc_admin": (200, 200), "leader": (200, 200), "unit_admin_a": (200, 200), "unit_admin_b": (200, 200),
        # a branch is not a target of the unit-level run; a member is sent no results
        "secretary_a1": (404, 200), "member_a": (404, 404),
    }
    for who, codes in expected.items():
        c = login(personas[who])
        for run, code in zip((units, branches), codes):
            for suffix in ("bulletin/", "bulletin.docx"):
                assert c.get(f"/assessment/runs/{run.pk}/{suffix}").status_code == code, (who, run.scheme.code, suffix)
        assert c.get(f"/assessment/runs/{10**9}/bulletin/").status_code == 404
    r = login(personas["secretary_a1"]).get(f"/assessment/runs/{branches.pk}/bulletin/")
    assert "财政局第一党支部" in page_text(r)  # no meetings recorded: listed among those to improve
    assert "教育局第一党支部" not in page_text(r)
    assert login(personas["wc_admin"]).post(f"/assessment/runs/{units.pk}/bulletin/").status_code == 405


def test_page_queries_do_not_grow_with_the_targets(city, personas):
    s = scheme(level=Level.BRANCH, **GRADING)

    def count(who):
        run = services.run_evaluation(None, s, "2025Q2", today=TODAY, replace=True)
        c = login(personas[who])
        c.get("/")  # the session and the user are loaded once before measuring
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(f"/assessment/runs/{run.pk}/bulletin/").status_code == 200
        return len(ctx), run.target_count

    before = {who: count(who) for who in ("wc_admin", "unit_admin_a")}
    for parent in ("a", "b", "b", "a"):
        b = branch_with(city[parent], full=3)
        record(b, ["theme_day"], dt.date(2025, 5, 6), attendance={m.pk: "present" for m in b.people})
    after = {who: count(who) for who in ("wc_admin", "unit_admin_a")}
    for who in before:
        assert after[who][1] == before[who][1] + 4
        assert after[who][0] == before[who][0], who


# ---- the command -------------------------------------------------------------------------------

def test_command_writes_the_docx(branch_run, tmp_path):
    out = tmp_path / "通报.docx"
    buf = io.StringIO()
    call_command("bulletin", "--run", str(branch_run.pk), "--out", str(out), stdout=buf)
    assert "已生成《关于2025年第二季度" in buf.getvalue() and str(out) in buf.getvalue()
    text = docx_text(docx_of(out.read_bytes()))
    _, good, lagging = expected_lists(branch_run)
    assert bulletin.title_of(branch_run) in text
    for name, total in good + lagging:
        assert f"{name}（{total}分" in text
    assert "节选" not in text


@pytest.mark.parametrize("run_arg, out_name, message", [
    ("999999", "通报.docx", "编号为 999999 的考评不存在"),
    ("abc", "通报.docx", "考评编号应为数字"),
    ("{pk}", "通报.txt", "应为 .docx 文件"),
    ("{pk}", "无此目录/通报.docx", "目录“.*无此目录”不存在"),
])
def test_command_refuses_bad_input_in_chinese(branch_run, tmp_path, run_arg, out_name, message):
    with pytest.raises(CommandError, match=message):
        call_command("bulletin", "--run", run_arg.format(pk=branch_run.pk), "--out", str(tmp_path / out_name))
    assert not list(tmp_path.rglob("*"))


# ---- the archive -------------------------------------------------------------------------------

@pytest.fixture
def many_runs(city, settings):
    settings.PAGE_SIZE = 5
    units, branches = scheme(level=Level.UNIT, code="U"), scheme(level=Level.BRANCH, code="B")
    runs = [final_run(s, f"2025-{m:02d}") for m in range(1, 5) for s in (units, branches)]
    runs.append(final_run(branches, "2025Q1"))
    return runs


def test_archive_paginates_and_filters(many_runs, personas):
    c = login(personas["wc_admin"])
    first = page_text(c.get("/assessment/bulletins/"))
    assert "第 1 / 2 页" in first
    titles = re.findall(r"关于2025年[^的]+的通报", first)
    assert len(titles) == 5
    second = page_text(c.get("/assessment/bulletins/?page=2"))
    assert len(re.findall(r"关于2025年[^的]+的通报", second)) == 4
    quarterly = page_text(c.get("/assessment/bulletins/?cycle=quarterly"))
    assert re.findall(r"关于2025年[^的]+的通报", quarterly) == ["关于2025年第一季度党建工作责任落实情况分级量化考核结果的通报"]
    none = page_text(c.get("/assessment/bulletins/?year=2024"))
    assert "没有符合条件的通报" in none and not re.findall(r"关于\d{4}年[^的]+的通报", none)
    bad = page_text(c.get("/assessment/bulletins/?year=abc&cycle=weekly"))
    assert "年度“abc”无效" in bad and "类别“weekly”不存在" in bad and "第 1 / 2 页" in bad


def test_archive_is_scoped(many_runs, personas):
    secretary = page_text(login(personas["secretary_a1"]).get("/assessment/bulletins/?cycle=monthly"))
    # only the branch-level runs hold the secretary's branch
    assert secretary.count("2025 年考核方案") == 4
    assert login(personas["member_a"]).get("/assessment/bulletins/").status_code == 404


def test_archive_queries_do_not_grow_with_the_runs(city, personas, settings):
    settings.PAGE_SIZE = 50
    s = scheme(level=Level.BRANCH)
    c = login(personas["unit_admin_a"])

    def count():
        c.get("/")
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/assessment/bulletins/").status_code == 200
        return len(ctx)

    services.run_evaluation(None, s, "2025-01", today=TODAY)
    before = count()
    for m in range(2, 6):
        services.run_evaluation(None, s, f"2025-{m:02d}", today=TODAY)
    factories.org(city["b"], kind="branch")
    assert count() == before


# ---- names that hold a 、 --------------------------------------------------------------------------

def test_a_joint_branch_named_with_a_dunhao_reads_as_one_unit(branch_run, city, personas):
    """“甲、乙联合党支部” is one branch: every list puts one organization on each numbered line, in
    the page and in the .docx, so no name run together with others can be read as two units."""
    scores, good, lagging = expected_lists(branch_run)
    joint = {"甲、乙联合党支部": good[0][0], "丙、丁联合党支部": lagging[0][0]}
    orgs = {s.org.name: s.org for s in scores}
    for new, old in joint.items():
        type(orgs[old]).objects.filter(pk=orgs[old].pk).update(name=new)
    adm = Admonition.objects.filter(run=branch_run).select_related("org").first()
    names = [s.org.name for s in TargetScore.objects.filter(run=branch_run).select_related("org")]
    assert set(joint) <= set(names)

    doc = bulletin.for_run(branch_run)
    for block in doc.blocks:
        named = [n for n in names if n in block.text]
        if block.kind == "item":
            assert len(named) == 1 and re.match(r"\d+．", block.text), block.text
        else:
            assert not named, block.text  # no sentence runs names together
    items = [b.text for b in doc.blocks if b.kind == "item"]
    assert any(t.startswith(tuple(f"{i}．甲、乙联合党支部（" for i in range(1, 50))) for t in items)
    lagging_items = [t for t in items if "丙、丁联合党支部" in t]
    assert len(lagging_items) >= 1 and "主要失分指标：“" in lagging_items[0]
    assert adm.org.name in "\n".join(items)

    c = login(personas["wc_admin"])
    page = c.get(f"/assessment/runs/{branch_run.pk}/bulletin/").content.decode()
    lines = [html.unescape(t) for t in re.findall(r'<p class="indent item">(.*?)</p>', page)]
    assert lines == items
    d = docx_of(c.get(f"/assessment/runs/{branch_run.pk}/bulletin.docx").getvalue())
    for p in d.paragraphs:
        named = [n for n in names if n in p.text]
        assert len(named) <= 1, p.text
        if named:
            assert re.match(r"\d+．", p.text), p.text


def test_an_excerpts_scope_names_are_quoted(branch_run, city, personas):
    type(city["a"]).objects.filter(pk=city["a"].pk).update(name="市财政局、市税务局机关党委")
    text = bulletin.for_run(branch_run, personas["unit_admin_a"]).text
    assert "本文本为“市财政局、市税务局机关党委”范围节选" in text
    assert bulletin.names_text(["甲、乙联合党支部", "丙党支部"]) == "“甲、乙联合党支部”“丙党支部”"
