"""The NUL character (U+0000) never reaches a query: PostgreSQL cannot hold it even as a search
term, and a page or an API answer holding one in a parameter was a 500 there. The API refuses
such a parameter with a 400 naming it; a page reads its fields without the character."""
import json

import pytest
from rest_framework.test import APIClient

from dangjian.core import nul
from tests import factories


@pytest.mark.parametrize("url", ["/members/?q=%E6%9D%8E%00", "/members/?org=CZ01%00", "/members/?q=li%00ming"])
def test_a_page_reads_its_query_without_nul(personas, tree, url):
    response = factories.login(personas["unit_admin_a"]).get(url)
    assert response.status_code == 200
    assert "李明" in response.content.decode()


@pytest.mark.parametrize("url, name", [("/api/members/?q=a%00b", "q"), ("/api/orgs/?q=%00", "q"),
                                       ("/api/activities/?org=CZ%00", "org"),
                                       ("/api/compliance/?period=2025-01&org=CZ%00", "org")])
def test_an_api_parameter_with_nul_is_refused_by_name(personas, url, name):
    api = APIClient()
    api.force_authenticate(personas["unit_admin_a"])
    response = api.get(url)
    assert response.status_code == 400
    assert response.json()["errors"][name] == [f"{name}：{nul.MESSAGE}"]


def test_an_org_code_with_nul_in_a_json_body_is_an_unknown_org(personas, tree):
    api = APIClient()
    api.force_authenticate(personas["unit_admin_a"])
    body = {"name": "张三", "org": "CZ01\x00", "gender": "male"}
    response = api.post("/api/members/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "不存在" in response.json()["errors"]["org"][0]
