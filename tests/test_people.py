"""People are named, never shown by their login: the member's name, else the account's full name,
else (an account nobody named) the username — in the header, on records, ratings, duty marks and
change histories, without a query per person named."""
import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.accounts.models import User
from dangjian.core import history
from dangjian.core.people import display_name, full_name, name_fields, name_from
from dangjian.ratings import services as rating_services
from tests import factories
from tests.factories import TODAY, login, page_text, visible_text


@pytest.fixture
def people(tree):
    """A 工委 staff account with a full name, a secretary whose account is a member's, and an
    account nobody has named."""
    staff = factories.user("wc_admin", tree["wc"], username="zhoujg", last_name="周", first_name="建国")
    secretary = factories.user("branch_secretary", tree["a1"], member=tree["ma"], username="liming")
    bare = factories.user("leader", tree["wc"], username="lingdao7")
    return {"staff": staff, "secretary": secretary, "bare": bare}


def header_person(page: str) -> str:
    nav = page[page.index("<nav"):page.index("</nav>")]
    return re.search(r"data-person>([^<]*)<", nav).group(1).strip()


def test_display_name_prefers_the_member_then_the_full_name_then_the_login(people, tree):
    assert display_name(people["secretary"]) == "李明"
    assert display_name(people["staff"]) == "周建国"  # 姓 then 名, no space
    assert display_name(people["bare"]) == "lingdao7"
    assert display_name(None) == ""
    assert full_name("Anna", "Schmidt") == "Anna Schmidt" and full_name("建国", "") == "建国"
    # The account's own name gives way to the member's it belongs to.
    named = factories.user(member=tree["mb"], last_name="赵", first_name="六")
    assert display_name(named) == "王芳"
    # Read as values (a list of marks), the same rule.
    row = User.objects.filter(pk=people["staff"].pk).values_list(*name_fields()).get()
    assert name_from(*row) == "周建国"


def test_the_header_names_the_person_behind_a_staff_account(people):
    assert header_person(page_text(login(people["staff"]).get("/"))) == "周建国"
    assert header_person(page_text(login(people["secretary"]).get("/"))) == "李明"


def test_a_record_names_who_entered_it_and_who_changed_it(people, tree):
    from dangjian.activities import services as acts

    activity = factories.record(tree["a1"], ["theme_day"], dt.date(2025, 7, 3), topic="七月主题党日",
                                attendance={tree["ma"].pk: "present"})
    activity.recorded_by = people["secretary"]
    activity.save(update_fields=["recorded_by"])
    acts.update_activity(people["staff"], activity, topic="七月主题党日（补记）", today=TODAY)
    text = visible_text(page_text(login(people["staff"]).get(f"/activities/{activity.pk}/")))
    assert "录入人：李明" in text and "liming" not in text
    assert "周建国" in text and "zhoujg" not in text  # the change history's 操作人


def test_ratings_pages_name_who_identified_closed_and_noted(people, tree):
    staff = people["staff"]
    weak = rating_services.identify_weak(staff, tree["a1"], identified_on=TODAY, reasons="书记空缺超过三个月",
                                         today=TODAY)
    rating_services.set_plan(staff, weak, measures="配齐班子", responsible="支部书记", deadline=TODAY, today=TODAY)
    rating_services.add_note(staff, weak, noted_on=TODAY, text="召开支委会研究整顿方案", today=TODAY)
    rating_services.request_close(staff, weak, evidence="班子已配齐", today=TODAY)
    rating_services.close_weak(staff, weak, closed_on=TODAY, verification="已配齐", today=TODAY)
    text = visible_text(page_text(login(staff).get(f"/ratings/weak/{weak.pk}/")))
    assert "认定人 周建国" in text and "zhoujg" not in text
    # The history's 销号人 (a field pointing at a login) names the person too.
    assert "销号人：（空） → 周建国" in text


def test_the_rating_run_names_who_computed_it(people, tree):
    factories.record(tree["a1"], ["theme_day"], dt.date(2025, 3, 10))  # a year with records can be rated
    rating_services.run_rating(people["staff"], 2025, today=dt.date(2026, 3, 1))
    text = visible_text(page_text(login(people["staff"]).get("/ratings/?year=2025")))
    assert "（周建国）" in text and "zhoujg" not in text


def test_a_history_names_many_people_without_a_query_each(tree):
    from dangjian.members import services as member_services

    def queries_for(n_people):
        member = factories.member(tree["a1"], name=f"测试{n_people}")
        for i in range(n_people):
            someone = factories.member(tree["a1"], name=f"修改人{n_people}-{i}")
            editor = factories.user("unit_admin", tree["a"], member=someone)
            member_services.update_member(editor, member, post=f"职务{i}")
        with CaptureQueriesContext(connection) as ctx:
            rows = history.describe(history.entries_for({"members.member": [member.pk]}))
        assert {r["user"] for r in rows} >= {f"修改人{n_people}-{i}" for i in range(n_people)}
        return len(ctx.captured_queries)

    assert queries_for(1) == queries_for(6)
