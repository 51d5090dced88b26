"""Assessment pages: who may see and change what, the indicator editor's refusals, a run from
the page, the score table's scoping, export, breakdown, manual scores and admonitions."""
import datetime as dt
import io
import re

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.assessment import services
from dangjian.assessment.models import Admonition, Indicator, ManualScore, Run, Scheme
from dangjian.rectification.models import Item
from tests import factories
from tests.factories import MANUAL, METRIC_INDICATORS, TODAY, branch_with, login, scheme, score_manual


@pytest.fixture
def run(city):
    s = scheme(admonish_below=99)
    return services.run_evaluation(None, s, "2025-06", today=TODAY)


def test_only_committee_staff_manage_and_members_see_nothing(city, personas):
    s = scheme()
    staff, unit, member = (login(personas[k]) for k in ("wc_admin", "unit_admin_a", "member_a"))
    assert staff.get("/assessment/schemes/new/").status_code == 200
    for url in ["/assessment/schemes/new/", f"/assessment/schemes/{s.pk}/indicators/", f"/assessment/schemes/{s.pk}/manual/"]:
        assert unit.get(url).status_code == 404
    assert unit.post(f"/assessment/schemes/{s.pk}/run/", {"period": "2025-06"}).status_code == 404
    assert not Run.objects.exists()
    for url in ["/assessment/", f"/assessment/schemes/{s.pk}/", "/assessment/admonitions/"]:
        assert member.get(url).status_code == 404
        assert unit.get(url).status_code == 200


def test_create_scheme_and_bad_input_in_chinese(city, personas):
    c = login(personas["wc_admin"])
    data = {"code": "2026-DW", "name": "2026 年各单位党建考核", "year": 2026, "level": "unit", "total": 100,
            "excellent": 90, "good": 80, "fair": 60, "admonish_below": 60}
    r = c.post("/assessment/schemes/new/", {**data, "good": 95})
    assert r.status_code == 200 and "好 &gt; 较好 &gt; 一般" in r.content.decode()
    assert not Scheme.objects.filter(code="2026-DW").exists()
    r = c.post("/assessment/schemes/new/", data)
    s = Scheme.objects.get(code="2026-DW")
    assert r.status_code == 302 and r["Location"] == f"/assessment/schemes/{s.pk}/indicators/"


def _editor_post(rows):
    data = {"rows": str(len(rows))}
    for n, row in enumerate(rows):
        for k, v in row.items():
            data[f"ind-{n}-{k}"] = v
    return data


def test_indicator_editor_refuses_forbidden_bases_and_bad_weights(city, personas):
    c = login(personas["wc_admin"])
    s = services.create_scheme(None, code="E", name="方案", year=2025, level="unit")
    url = f"/assessment/schemes/{s.pk}/indicators/"
    r = c.post(url, _editor_post([
        dict(category="组织生活", name="三会一课落实", weight="60", method="metric", metric="compliance_rate"),
        dict(category="学习教育", name="党员学习时长", weight="40", method="manual", max_score="10"),
    ]))
    page = r.content.decode()
    assert r.status_code == 400 and "学习时长" in page and "减负若干规定" in page and "第 2 项" in page
    assert "burden_reduction" not in page
    assert "党员学习时长" in page  # the rows typed are shown again
    r = c.post(url, _editor_post([
        dict(category="组织生活", name="三会一课落实", weight="60", method="metric", metric="compliance_rate"),
    ]))
    assert r.status_code == 400 and "合计 60.00 分" in r.content.decode()
    assert not Indicator.objects.filter(scheme=s).exists()
    r = c.post(url, _editor_post([
        dict(category="组织生活", name="三会一课落实", weight="60", method="metric", metric="compliance_rate",
             rule="theme_day"),
        dict(category="作风建设", name="融合情况", weight="40", method="manual", max_score="10", note="听取汇报"),
        dict(category="", name="", weight=""),  # a blank row is ignored
    ]))
    assert r.status_code == 302
    assert [(i.name, i.params, i.max_score) for i in s.indicators.all()] == \
        [("三会一课落实", {"rule": "theme_day"}, None), ("融合情况", {}, 10)]


def test_run_from_the_page_and_the_score_table(city, personas):
    s = scheme()
    c = login(personas["wc_admin"])
    r = c.post(f"/assessment/schemes/{s.pk}/run/", {"period": "2024-06"})
    assert r.status_code == 302 and not Run.objects.exists()
    r = c.post(f"/assessment/schemes/{s.pk}/run/", {"period": "2025-06"})
    run = Run.objects.get()
    assert r["Location"] == f"/assessment/runs/{run.pk}/"
    page = c.get(r["Location"]).content.decode()
    assert "市财政局机关党委" in page and "市教育局机关党委" in page and "run-chart" in page
    # a unit admin sees their own unit's row only
    page = login(personas["unit_admin_a"]).get(f"/assessment/runs/{run.pk}/").content.decode()
    assert "市财政局机关党委" in page and "市教育局机关党委" not in page


def test_run_page_queries_do_not_grow_with_targets(city, personas):
    s = scheme(level="branch")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    c = login(personas["wc_admin"])

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url).status_code == 200
        return len(ctx)

    org = city["branches"][2]
    urls = [f"/assessment/runs/{run.pk}/", f"/assessment/runs/{run.pk}/targets/{org.pk}/", "/assessment/admonitions/",
            f"/assessment/schemes/{s.pk}/"]
    before = [count(u) for u in urls]
    for _ in range(3):
        branch_with(city["b"], full=3)
    services.run_evaluation(None, s, "2025-06", today=TODAY, replace=True)
    assert [count(u) for u in urls] == before


def test_export_breakdown_and_admonition(run, personas, city):
    c = login(personas["wc_admin"])
    r = c.get(f"/assessment/runs/{run.pk}/export.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    rows = list(wb.active.values)
    assert rows[0][:5] == ("名次", "组织代码", "考核对象", "总分", "等次") and len(rows) == 3
    assert {r[1] for r in rows[1:]} == {"CZ", "JY"}
    page = c.get(f"/assessment/runs/{run.pk}/targets/{city['a'].pk}/").content.decode()
    for ind in [*METRIC_INDICATORS, MANUAL]:
        assert ind["name"] in page
    assert "考核组尚未评分" in page
    assert login(personas["unit_admin_b"]).get(f"/assessment/runs/{run.pk}/targets/{city['a'].pk}/").status_code == 404
    assert not Admonition.objects.filter(run=run).exists()  # a draft (scores pending) admonishes nobody
    score_manual(run.scheme, "2025-06")
    run = services.run_evaluation(None, run.scheme, "2025-06", today=TODAY, replace=True)
    adm = Admonition.objects.filter(run=run).first()
    url = f"/assessment/admonitions/{adm.pk}/"
    r = c.post(url, {"talked_on": "2099-01-01", "talked_with": "书记", "talked_by": "工委", "outcome": "x"})
    assert r.status_code == 200 and "不能晚于今天" in r.content.decode()
    talk = {"talked_on": "2025-07-02", "talked_with": "党组书记", "talked_by": "工委副书记", "outcome": "要求一个月内整改"}
    r = c.post(url, talk)  # the measures' deadline is asked: nothing is written without it
    assert r.status_code == 200 and "整改时限" in r.content.decode() and "必填" in r.content.decode()
    assert Admonition.objects.get(pk=adm.pk).status == "pending" and not Item.objects.exists()
    r = c.post(url, {**talk, "deadline": "2025-06-01"})
    assert r.status_code == 200 and "不能早于交办日期" in r.content.decode()
    assert Admonition.objects.get(pk=adm.pk).status == "pending" and not Item.objects.exists()
    r = c.post(url, {**talk, "deadline": "2025-08-02"})
    assert r.status_code == 302 and Admonition.objects.get(pk=adm.pk).status == "done"
    item = Item.objects.get()
    assert (item.source, item.source_id, item.list, item.org_id, item.deadline, item.description) == (
        "admonition", adm.pk, "task", adm.org_id, dt.date(2025, 8, 2), "要求一个月内整改")
    assert item.issuer.kind == "working_committee" and item.opened_on == dt.date(2025, 7, 2)
    assert f"/items/{item.pk}/" in c.get(url).content.decode()


def test_manual_grid_all_or_nothing(city, personas):
    s = scheme()
    manual = s.indicators.get(method="manual")
    c = login(personas["wc_admin"])
    url = f"/assessment/schemes/{s.pk}/manual/"
    assert "没有适用的考核方案" in c.get(url + "?period=2024-06").content.decode()
    page = c.get(url + "?period=2025-06").content.decode()
    assert "市财政局机关党委" in page and "市教育局机关党委" in page
    key_a, key_b = f"{manual.pk}-{city['a'].pk}", f"{manual.pk}-{city['b'].pk}"
    r = c.post(url, {"period": "2025-06", f"s-{key_a}": "4", f"c-{key_a}": "资料齐全",
                     f"s-{key_b}": "9", f"c-{key_b}": "超出满分"})
    assert r.status_code == 400 and "应为 0 到 5.00" in r.content.decode() and not ManualScore.objects.exists()
    r = c.post(url, {"period": "2025-06", f"s-{key_a}": "4", f"c-{key_a}": "资料齐全", f"s-{key_b}": ""})
    assert r.status_code == 302 and ManualScore.objects.get().score == 4


def test_an_inspector_scores_the_targets_assigned_to_it_only(city, personas):
    """督查考核员 enter the 考核组评分 of the units they are assigned to: the grid shows those
    targets only, a cell of another unit is refused (nothing written), and the editing of
    indicators stays the committee's."""
    s = scheme(level="branch")
    manual = s.indicators.get(method="manual")
    inspector = login(factories.user("inspector", city["a"], username="inspector_a"))
    url = f"/assessment/schemes/{s.pk}/manual/"
    assert f'href="{url}"' in inspector.get(f"/assessment/schemes/{s.pk}/").content.decode()
    page = inspector.get(url + "?period=2025-06").content.decode()
    mine = [b for b in city["branches"] if b.path.startswith(city["a"].path)]
    others = [b for b in city["branches"] if not b.path.startswith(city["a"].path)]
    assert mine and others
    assert all(f'name="s-{manual.pk}-{b.pk}"' in page for b in mine)
    assert not any(f'name="s-{manual.pk}-{b.pk}"' in page for b in others)
    own, other = f"{manual.pk}-{mine[0].pk}", f"{manual.pk}-{others[0].pk}"
    # The service refuses a cell of another unit, and writes nothing of the batch.
    from dangjian.accounts.models import User

    user = User.objects.get(username="inspector_a")
    with pytest.raises(services.ManualScoreErrors) as err:
        services.enter_manual_scores(user, s, "2025-06", [(manual.pk, mine[0].pk, 4, "现场查看记录齐全"),
                                                           (manual.pk, others[0].pk, 3, "越权评分")])
    assert [x["message"] for x in err.value.problems] == [f"“{others[0].name}”不在您负责督查考核的范围内"]
    assert not ManualScore.objects.exists()
    # Through the grid, a cell posted for another unit's target is not read at all.
    r = inspector.post(url, {"period": "2025-06", f"s-{own}": "4", f"c-{own}": "现场查看记录齐全",
                             f"s-{other}": "3", f"c-{other}": "越权评分"})
    assert r.status_code == 302
    saved = ManualScore.objects.get()
    assert (saved.org_id, saved.score, saved.assessor.username) == (mine[0].pk, 4, "inspector_a")
    assert inspector.get(f"/assessment/schemes/{s.pk}/indicators/").status_code == 404
    # A leader (read-only) scores nothing.
    assert login(personas["leader"]).get(url).status_code == 404


def test_manual_grid_shows_every_problem_at_once_beside_its_cell(city, personas):
    s = scheme(level="branch")
    manual = s.indicators.get(method="manual")
    c = login(personas["wc_admin"])
    url = f"/assessment/schemes/{s.pk}/manual/"
    keys = [f"{manual.pk}-{b.pk}" for b in city["branches"][:6]]
    data = {"period": "2025-06"}
    typed = {keys[0]: ("12", "超出满分"), keys[1]: ("-3", "负分"), keys[2]: ("abc", "不是数字"),
             keys[3]: ("4", ""), keys[4]: ("", "只写了说明"), keys[5]: ("3", "这一格没有问题")}
    for key, (score, comment) in typed.items():
        data[f"s-{key}"], data[f"c-{key}"] = score, comment
    r = c.post(url, data)
    page = r.content.decode()
    assert r.status_code == 400 and not ManualScore.objects.exists()
    found = dict(re.findall(r'data-field="([sc]-[\d-]+)">([^<]+)<', page))
    assert set(found) == {f"s-{keys[0]}", f"s-{keys[1]}", f"s-{keys[2]}", f"c-{keys[3]}", f"s-{keys[4]}"}
    assert "收到 12" in found[f"s-{keys[0]}"] and "收到 -3" in found[f"s-{keys[1]}"]
    assert "“abc”不是数字" in found[f"s-{keys[2]}"]
    assert "评分说明：必填" in found[f"c-{keys[3]}"] and "未填写" in found[f"s-{keys[4]}"]
    assert "有 5 处需要修改" in page
    # each message sits right after its own input, which is marked invalid; what was typed stays
    for field, message in found.items():
        at = page.index(f'name="{field}"')
        assert page.index(message, at) - at < 600 and 'is-invalid' in page[page.rfind("<input", 0, at):at]
    assert 'value="abc"' in page and 'value="这一格没有问题"' in page
    # corrected, all six cells but the blank one save together
    data.update({f"s-{keys[0]}": "5", f"s-{keys[1]}": "0", f"s-{keys[2]}": "2.5", f"c-{keys[3]}": "补写说明",
                 f"s-{keys[4]}": "1"})
    r = c.post(url, data)
    assert r.status_code == 302 and ManualScore.objects.count() == 6


def test_schemes_are_listed_newest_year_first_whatever_the_database_groups_by(city, personas):
    # The list counts indicators and runs (a grouped query, which drops the model's ordering).
    for code, year, level in [("B-2025", 2025, "unit"), ("A-2026", 2026, "branch"), ("C-2026", 2026, "unit"),
                              ("D-2024", 2024, "unit")]:
        services.create_scheme(None, code=code, name=f"方案{code}", year=year, level=level)
    page = login(personas["wc_admin"]).get("/assessment/").content.decode()
    expected = [s.name for s in Scheme.objects.order_by("-year", "level", "code")]
    assert sorted(expected, key=page.index) == expected and len(expected) >= 4


def test_a_new_schemes_editor_starts_from_the_duty_based_default_indicators(tree, personas):
    from dangjian.assessment import defaults

    s = services.create_scheme(None, code="Q2026", name="2026 年分级量化考核方案", year=2026, level="unit", total=120)
    c = login(personas["wc_admin"])
    page = c.get(f"/assessment/schemes/{s.pk}/indicators/").content.decode()
    assert "已按默认指标预填" in page and not s.indicators.exists()  # shown, not saved
    assert '<option value="duty_completion" selected' in page and '<option value="compliance_rate" selected' in page
    # saved as shown: weights scaled to the scheme's total (120), duty completion the heaviest
    post = {"rows": str(len(defaults.UNIT)), "version": str(s.version)}
    for n, spec in enumerate(defaults.UNIT):
        weight = spec["weight"] * 120 / 100
        assert f'name="ind-{n}-weight" value="{weight:.2f}"' in page
        post.update({f"ind-{n}-{k}": str(spec.get(k) or "") for k in ("category", "name", "method", "metric", "note",
                                                                      "max_score")})
        post[f"ind-{n}-weight"] = f"{weight:.2f}"
    assert c.post(f"/assessment/schemes/{s.pk}/indicators/", post).status_code == 302
    weights = {i.metric or i.method: i.weight for i in s.indicators.all()}
    assert sum(weights.values()) == 120 and max(weights, key=weights.get) == "duty_completion"
    # a scheme that has indicators shows its own
    assert "已按默认指标预填" not in c.get(f"/assessment/schemes/{s.pk}/indicators/").content.decode()


def test_saving_the_last_scores_of_a_draft_points_to_finalizing(city, personas):
    s = scheme()
    manual = s.indicators.get(method="manual")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    assert not run.is_final
    c = login(personas["wc_admin"])
    post = {"period": "2025-06"}
    for org in (city["a"], city["b"]):
        post[f"s-{manual.pk}-{org.pk}"], post[f"c-{manual.pk}-{org.pk}"] = "4", "材料齐全"
    page = c.post(f"/assessment/schemes/{s.pk}/manual/", post, follow=True).content.decode()
    assert "已保存 2 项评分" in page and "仍为暂定" in page
    assert not Run.objects.get(pk=run.pk).is_final  # nothing stored changes until it is computed again
