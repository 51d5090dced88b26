"""Finding an organization as members are found: a part of the code, a part of the name, the
name's full pinyin or its initials (orgs.queries.search_orgs), on a generated tree; the pinyin
kept by every write (services, the importer's bulk write, the backfill migration); the tree
page and the API use the same search."""
import importlib

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from pypinyin import Style, lazy_pinyin

from dangjian.orgs import io as org_io
from dangjian.orgs import queries
from dangjian.orgs import services as org_services
from dangjian.orgs.models import Organization
from tests import factories
from tests.factories import PASSWORD, cli_json, org_row, sheet

DEPARTMENTS = [("市财政局", "CZJ"), ("市教育局", "JYJ"), ("市人力资源和社会保障局", "RSJ"),
               ("市住房和城乡建设局", "ZJJ"), ("市银行业监督管理局", "YHJ")]
ORDINALS = "一二三四"


@pytest.fixture
def city(db):
    """工委 → per department a 机关党委 with four branches 第一…第四党支部 (two names per
    department alike across departments) and a branch with brackets in its name."""
    wc = factories.org(kind="working_committee", name="示例市直机关工委", code="WC")
    orgs = [wc]
    for dept, code in DEPARTMENTS:
        committee = factories.org(wc, kind="organ_committee", name=f"{dept}机关党委", code=code)
        orgs.append(committee)
        for i, n in enumerate(ORDINALS, 1):
            orgs.append(factories.org(committee, name=f"{dept}机关第{n}党支部", code=f"{code}{i:02d}"))
        orgs.append(factories.org(committee, name=f"{dept}（信息中心）党支部", code=f"{code}-XX"))
    return orgs


def spelled(name: str, style=Style.NORMAL) -> str:
    return "".join(c for c in "".join(lazy_pinyin(name, style=style)).lower() if c.isalnum() and c.isascii())


def expected(orgs, text: str) -> set[str]:
    """What a person would call a match, computed without the stored fields."""
    latin = text.replace(" ", "").lower() if text.replace(" ", "").isascii() and any(c.isalpha() for c in text) \
        else None
    return {o.code for o in orgs if text.lower() in o.code.lower() or text in o.name
            or (latin and (latin in spelled(o.name) or latin in spelled(o.name, Style.FIRST_LETTER)))}


def found(text: str, qs=None) -> set[str]:
    return set(queries.search_orgs(qs if qs is not None else Organization.objects.all(), text)
               .values_list("code", flat=True))


@pytest.mark.parametrize("text, some", [
    ("CZJ0", {"CZJ01", "CZJ04"}),           # a part of the code
    ("czj02", {"CZJ02"}),                   # any case
    ("-xx", {"CZJ-XX", "YHJ-XX"}),
    ("第二党支部", {"CZJ02", "RSJ02"}),      # a part of the name
    ("住房", {"ZJJ", "ZJJ03"}),
    ("czj", {"CZJ", "CZJ03"}),              # initials (市财政局 → sczj…), and the code
    ("rlzyhshbzj", {"RSJ", "RSJ04"}),
    ("dedzb", {"CZJ02", "YHJ02"}),          # 第二党支部
    ("caizheng", {"CZJ", "CZJ01"}),         # full pinyin
    ("CaiZhengJu", {"CZJ"}),
    ("cai zheng", {"CZJ01"}),               # spaces typed between syllables
    ("yinhang", {"YHJ", "YHJ01"}),          # 行 read as háng in 银行
    ("xinxizhongxin", {"CZJ-XX", "JYJ-XX"}),  # inside the brackets
    ("xxzxdzb", {"RSJ-XX"}),
])
def test_search_by_code_name_initials_and_pinyin(city, text, some):
    result = found(text)
    assert some <= result
    assert result == expected(city, text)


def test_search_finds_nothing_for_nonsense_and_ignores_blank(city):
    assert found("qqqq") == set() and found("不存在的组织") == set()
    assert found("  ") == {o.code for o in city}
    assert found("a\x00b") == expected(city, "ab")  # a NUL byte never reaches the database


def test_best_matches_rank_first(city):
    ranked = list(queries.search_orgs(Organization.objects.all(), "czj").order_by("match_rank", "path")
                  .values_list("code", "match_rank"))
    assert ranked[0] == ("CZJ", 0)  # the code itself
    assert {r for _, r in ranked} <= {0, 1, 2}
    # Another department's orgs whose initials merely contain the text come last.
    starts = {c for c, r in ranked if r == 1}
    assert "CZJ01" in starts


def test_search_stays_within_the_given_queryset(city):
    user = factories.user("unit_admin", city[1])  # 市财政局机关党委
    assert found("dzb", Organization.objects.visible_to(user)) == {"CZJ01", "CZJ02", "CZJ03", "CZJ04", "CZJ-XX"}


def test_services_keep_the_pinyin(city):
    org = Organization.objects.get(code="CZJ01")
    assert (org.name_pinyin, org.name_initials) == ("shicaizhengjujiguandiyidangzhibu", "sczjjgdydzb")
    org_services.update_org(None, org, name="市财政局预算科党支部")
    assert found("ysk") == {"CZJ01"}
    assert Organization.objects.get(code="CZJ01").name_initials == "sczjyskdzb"
    # Pinyin is derived, not a change of its own in the history.
    from dangjian.core.models import AuditEntry
    entry = AuditEntry.objects.filter(table="orgs.organization", object_id=org.pk).latest("pk")
    assert set(entry.changes) == {"name"}


def test_importer_bulk_write_fills_the_pinyin(city, tmp_path):
    headers = [c.header for c in org_io.COLUMNS]
    rows = [org_row("CZJ05", parent="CZJ", 组织名称="市财政局国库支付中心党支部"),
            org_row("CZJ01", parent="CZJ", 组织名称="市财政局综合科党支部")]
    path = sheet(tmp_path / "o.xlsx", rows, headers)
    assert cli_json("import-orgs", str(path))[1]["ok"]
    assert found("gkzfzx") == {"CZJ05"}
    assert found("zonghe") == {"CZJ01"}
    assert found("diyidang") == expected(Organization.objects.all(), "diyidang")
    assert "CZJ01" not in found("diyidang")


def test_backfill_migration_fills_existing_rows(city):
    Organization.objects.update(name_pinyin="", name_initials="")
    assert found("caizheng") == set()
    migration = importlib.import_module("dangjian.orgs.migrations.0002_org_name_pinyin")
    migration.backfill(django_apps, None)
    assert found("caizheng") == expected(city, "caizheng")
    for o in Organization.objects.all():
        fresh = Organization(name=o.name)
        fresh.fill_search_names()
        assert (o.name_pinyin, o.name_initials) == (fresh.name_pinyin, fresh.name_initials)


def test_tree_page_and_api_use_the_same_search(city, client):
    admin = factories.user("unit_admin", city[1], username="czadmin")
    assert client.login(username="czadmin", password=PASSWORD)
    page = client.get(reverse("orgs:tree"), {"q": "dsdzb"}).content.decode()  # 第三党支部
    assert "市财政局机关第三党支部" in page and "市教育局" not in page
    from rest_framework.test import APIClient
    api = APIClient()
    api.force_authenticate(admin)
    codes = [o["code"] for o in api.get("/api/orgs/", {"q": "xinxi"}).json()["results"]]
    assert codes == ["CZJ-XX"]
    assert [o["code"] for o in api.get("/api/orgs/", {"q": "czj0"}).json()["results"]] == [
        "CZJ01", "CZJ02", "CZJ03", "CZJ04"]
