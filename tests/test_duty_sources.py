"""Duty lists cite a regulation by name and article, or the working committee's own requirement —
never a county's speech or a file; wording seeded before is corrected where staff left it as
seeded; the working committee edits an item's wording and source in the platform."""
import datetime as dt
import html
import importlib
import re
from types import SimpleNamespace

from django.db import connection
from django.utils import timezone

from dangjian.core import defaults
from dangjian.core.models import AuditEntry
from dangjian.duties import catalog, seed
from dangjian.duties.models import DutyItem
from dangjian.orgs import services as org_services
from tests.factories import duty_item_form as form_of
from tests.factories import latest_duty_item as latest
from tests.factories import login
from tests.factories import visible_text as visible
from tests.test_activities import branch_with

TODAY = timezone.localdate()
COUNTY = ("全县", "县直", "讲话")
# A regulation by its full name in 《》 (its article when one is known), or the committee's own requirement.
CITED = re.compile(r"《[^》]+》|机关工委")


# ---- sources ----------------------------------------------------------------------------------------

def test_the_lists_cite_regulations_or_the_committee_never_a_county_speech(db):
    for role, spec in catalog.roles().items():
        assert not any(w in spec["source"] for w in COUNTY), role
        assert CITED.search(spec["source"]), role
    for spec in seed.item_specs():
        assert not any(w in spec["source"] for w in COUNTY), spec["code"]
        assert CITED.search(spec["source"]) and "《" in spec["source"], spec["code"]
    raw = open(defaults.RULES_DIR / "duties.yaml", encoding="utf-8").read()
    assert "全县" not in raw and "县直" not in raw


def _holder_secretary(tree):
    b = branch_with(tree["a"], full=3, code="LB01")
    secretary = b.people[0]
    org_services.fill_seat(None, b, "secretary", secretary, dt.date(2024, 3, 1))
    return secretary


def test_the_pages_of_the_lists_show_no_county_speech_or_file(tree, personas):
    secretary = _holder_secretary(tree)
    admin = login(personas["wc_admin"])
    pages = [admin.get(f"/duties/items/?year={TODAY.year}"), admin.get(f"/duties/member/{secretary.pk}/"),
             admin.get(f"/duties/overview/?year={TODAY.year}")]
    for r in pages:
        assert r.status_code == 200
        text = visible(r.content.decode())
        for word in (*COUNTY, ".yaml", "SOURCES.md"):
            assert word not in text, (r.request["PATH_INFO"], word)
    items = visible(pages[0].content.decode())
    assert "《中国共产党党和国家机关基层组织工作条例》第三十五条" in items
    assert "“每半年至少一次”为机关工委确定的本地要求" in items


def test_the_committee_edits_an_items_wording_and_source(tree, personas):
    admin = login(personas["wc_admin"])
    item = latest("bs_training")
    source = "市直机关工委《关于加强党支部书记队伍建设的通知》第三条"
    r = admin.post("/duties/items/edit/", form_of(item, title="每年参加一次党支部书记轮训", source=source,
                                                  year=str(TODAY.year)))
    assert r.status_code == 302, r.content.decode()
    now = latest("bs_training")
    assert (now.title, now.source, now.from_year) == ("每年参加一次党支部书记轮训", source, TODAY.year)
    page = visible(admin.get(f"/duties/items/?year={TODAY.year}").content.decode())
    assert "每年参加一次党支部书记轮训" in page and source in page
    history = visible(admin.get(f"/duties/items/edit/?item={now.pk}").content.decode())
    assert "条目调整：自" in history and "依据：" in history
    # a file name is not a source
    r = admin.post("/duties/items/edit/", form_of(now, source="rules/duties.yaml"))
    assert r.status_code == 200
    assert "依据：请写法规或文件的名称和条款，不要写文件名（“rules/duties.yaml”）" in html.unescape(r.content.decode())
    assert latest("bs_training").source == source


def test_item_sources_seeded_before_are_corrected_unless_staff_edited_them(db):
    from django.apps import apps

    m = importlib.import_module("dangjian.duties.migrations.0003_item_sources_cite_regulations")
    specs = {s["code"]: s for s in seed.item_specs()}
    # The lists added since (行政负责人, 纪检委员, 机关党委, 党员) were seeded with their sources as they are.
    later = {"administrative_head", "discipline_secretary", "organ_committee", "party_member"}
    assert set(m.SOURCES) == {code for code, spec in specs.items() if spec["role"] not in later}
    for code, (_old, new) in m.SOURCES.items():
        assert specs[code]["source"] == new, code  # what a fresh install is seeded with
    assert any("全县" in old for old, _ in m.SOURCES.values())
    old_pledge = m.SOURCES["pgs_pledge"][0]
    DutyItem.objects.filter(code="pgs_pledge").update(source=old_pledge)
    DutyItem.objects.filter(code="pgs_hear_report").update(source="市直机关工委 2026 年 2 号文")  # a staff edit
    m.cite_regulations(apps, SimpleNamespace(connection=connection))
    assert latest("pgs_pledge").source == specs["pgs_pledge"]["source"]
    assert latest("pgs_hear_report").source == "市直机关工委 2026 年 2 号文"
    entry = AuditEntry.objects.get(table="duties.dutyitem")
    assert entry.user is None and entry.changes["source"] == [old_pledge, specs["pgs_pledge"]["source"]]

