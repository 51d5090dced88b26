"""A term (届) is no longer than the regulation allows for the org's kind: the web form, the API
and the Excel import refuse the same terms with the same Chinese message, and write nothing.
The figures are read from defaults.yaml, never written here."""
import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dangjian.core import defaults
from dangjian.orgs import checks
from dangjian.orgs import io as org_io
from dangjian.orgs import services as org_services
from dangjian.orgs.models import Term
from tests.factories import cli_json, counts, login, org_row, sheet
from tests.factories import page_text as text

START = dt.date(2026, 1, 1)
ORG_HEADERS = [c.header for c in org_io.COLUMNS]


def limit(kind: str) -> dt.date:
    """The latest end of a term starting on START, from the regulation defaults."""
    section = defaults.section("organization")
    return checks.add_years(START, section["term_years"][kind] + section["term_change_max_years"])


def test_the_figures_and_their_sources_come_from_the_defaults():
    section = defaults.section("organization")
    for kind, years in section["term_years"].items():
        rule = checks.term_rule(kind)
        assert rule["years"] == years and rule["change"] == section["term_change_max_years"]
        assert rule["source"].startswith("《") and rule["source"] == section["term_sources"][kind]
    assert checks.term_rule("leading_group") is None  # a 党组 is appointed: no elected term


def test_the_check_allows_the_regular_term_and_an_approved_extension_but_no_more():
    for kind in defaults.section("organization")["term_years"]:
        last = limit(kind)
        assert checks.check_term(kind, START, last) == []
        [(field, message)] = checks.check_term(kind, START, last + dt.timedelta(days=1))
        assert field == "ends_on" and f"届满日期最晚为 {last:%Y-%m-%d}" in message and "《" in message
    # a 机关党委's term is longer than a branch's
    organ, branch = limit("organ_committee"), limit("branch")
    assert organ > branch and checks.check_term("branch", START, organ)
    assert checks.check_term("branch", START, START) == [("ends_on", "本届届满日期应晚于本届开始日期")]
    # 29 February + years: 28 February of a common year
    assert checks.add_years(dt.date(2024, 2, 29), 3) == dt.date(2027, 2, 28)


def test_the_web_form_refuses_a_ten_year_branch_term_next_to_the_field(tree, personas):
    c = login(personas["unit_admin_a"])
    url = reverse("orgs:term", args=[tree["a1"].pk])
    assert "每届任期" in text(c.get(url))  # the rule is stated beside the field
    before = counts()
    r = c.post(url, {"starts_on": "2026-01-01", "ends_on": "2036-01-01"})
    page = text(r)
    assert r.status_code == 200 and "保存成功" not in page
    assert f"届满日期最晚为 {limit('branch'):%Y-%m-%d}" in page and "党支部每届任期" in page
    assert not Term.objects.filter(org=tree["a1"]).exists() and counts() == before
    # within the rule it saves
    r = c.post(url, {"starts_on": "2026-01-01", "ends_on": limit("branch").isoformat()})
    assert r.status_code == 302 and Term.objects.get(org=tree["a1"]).ends_on == limit("branch")
    # the organ committee above may hold a longer term
    r = c.post(reverse("orgs:term", args=[tree["a"].pk]),
               {"starts_on": "2026-01-01", "ends_on": limit("organ_committee").isoformat()})
    assert r.status_code == 302


def test_the_api_refuses_it_in_the_one_error_shape(tree, personas):
    c = APIClient()
    c.force_authenticate(personas["unit_admin_a"])
    r = c.post(f"/api/orgs/{tree['a1'].pk}/term/", {"starts_on": "2026-01-01", "ends_on": "2036-01-01"},
               format="json")
    assert r.status_code == 400
    [message] = r.json()["errors"]["ends_on"]
    assert "党支部每届任期" in message and f"{limit('branch'):%Y-%m-%d}" in message
    assert not Term.objects.filter(org=tree["a1"]).exists()


def test_the_service_refuses_it_for_every_caller(tree):
    with pytest.raises(org_services.OrgError, match="党支部每届任期"):
        org_services.set_current_term(None, tree["a1"], START, dt.date(2036, 1, 1))


def test_the_import_refuses_it_on_its_row_and_writes_nothing(tree, tmp_path):
    rows = [org_row("CZ02", 本届开始日期=START, 本届届满日期=dt.date(2036, 1, 1)),
            org_row("CZ03", 组织类别="党总支", 本届开始日期=START, 本届届满日期=limit("general_branch"))]
    path = sheet(tmp_path / "o.xlsx", rows, ORG_HEADERS)
    before = counts()
    code, report = cli_json("import-orgs", str(path))
    assert code != 0 and not report["ok"] and counts() == before
    [error] = report["errors"]
    assert (error["row"], error["column"]) == (2, "本届届满日期") and "党支部每届任期" in error["message"]
    # the same message as the form's and the API's
    assert error["message"] == checks.check_term("branch", START, dt.date(2036, 1, 1))[0][1]
