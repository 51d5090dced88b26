"""A NUL character (U+0000) in a request is refused with a 400 and a Chinese message, on the
pages and in the API: PostgreSQL cannot hold it even as a search term, and answered 500."""
import json

import pytest
from rest_framework.test import APIClient

from dangjian.core import nul
from dangjian.members.models import Member
from tests import factories


@pytest.mark.parametrize("url", ["/members/?q=a%00b", "/orgs/?q=%00", "/members/?org=CZ%00", "/orgs/lookup/?q=a%00"])
def test_a_page_asked_with_nul_says_why(personas, url):
    response = factories.login(personas["unit_admin_a"]).get(url)
    assert response.status_code == 400
    assert nul.MESSAGE in response.content.decode()


@pytest.mark.parametrize("url", ["/api/members/?q=a%00b", "/api/orgs/?q=%00", "/api/activities/?org=CZ%00",
                                 "/api/compliance/?period=2025-01&org=CZ%00"])
def test_an_api_query_with_nul_answers_in_the_api_shape(personas, url):
    api = APIClient()
    api.force_authenticate(personas["unit_admin_a"])
    response = api.get(url)
    assert response.status_code == 400
    assert response.json()["detail"] == nul.MESSAGE


def test_a_form_field_with_nul_is_refused_and_nothing_is_written(personas, tree):
    before = Member.objects.count()
    response = factories.login(personas["unit_admin_a"]).post("/members/new/", {"name": "张\x00三", "org": "CZ01"})
    assert response.status_code == 400
    assert Member.objects.count() == before


def test_an_org_code_with_nul_in_a_json_body_is_an_unknown_org(personas, tree):
    api = APIClient()
    api.force_authenticate(personas["unit_admin_a"])
    body = {"name": "张三", "org": "CZ01\x00", "gender": "male"}
    response = api.post("/api/members/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "org" in response.json()["errors"]
    assert "不存在" in response.json()["errors"]["org"][0]
