"""The duty-item editor asks for nothing as a code: the shared mark (共用标记) is a choice among
the other manual items, named by their roles and titles; a value not offered is refused in Chinese
and writes nothing."""
import html
import re

import pytest
from django.utils import timezone

from dangjian.core.models import AuditEntry
from dangjian.duties import queries
from dangjian.duties import services as duty_services
from dangjian.duties.models import DutyItem
from tests.factories import duty_item_form as form_of
from tests.factories import latest_duty_item as latest
from tests.factories import login
from tests.factories import visible_text as visible

TODAY = timezone.localdate()


# ---- the editor's coded input is a choice ----------------------------------------------------------

def test_the_shared_mark_is_a_choice_named_by_roles_and_titles(personas):
    admin = login(personas["wc_admin"])
    item = latest("pgs_hear_report")
    page = admin.get(f"/duties/items/edit/?item={item.pk}").content.decode()
    select = re.search(r'<select name="fact".*?</select>', page, re.S).group(0)
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))
    assert options[""] == "不与其他条目共用，单独标记"
    assert options["organ_committee_report"] == "与机关党委书记“每半年至少向党组汇报一次机关党建工作”共用一次标记"
    assert re.search(r'<option value="organ_committee_report" selected>', select)
    # every option reads in Chinese; no input of the form takes a typed code
    assert all(re.search(r"[\u4e00-\u9fff]", label) and not re.search(r"[a-z_]{3,}", label)
               for label in options.values())
    text = visible(page)
    assert "organ_committee_report" not in text and "代码" not in text
    assert not re.search(r'<input[^>]+name="fact"', page)


def test_choosing_to_share_a_mark_and_back(personas, tree):
    admin = login(personas["wc_admin"])
    pledge = latest("pgs_pledge")
    r = admin.post("/duties/items/edit/", form_of(pledge, fact="lm_liaison"))
    assert r.status_code == 302, r.content.decode()
    shared = latest("pgs_pledge")
    assert shared.fact == "lm_liaison" and shared.fact_code == latest("lm_liaison").fact_code
    page = admin.get(f"/duties/items/edit/?item={shared.pk}").content.decode()
    assert re.search(r'<option value="lm_liaison" selected>与班子成员“每年到基层党建工作联系点指导工作”', page)
    # back to its own mark: stored as its own code (empty)
    r = admin.post("/duties/items/edit/", form_of(shared, fact="", title="每年年初作出抓党建工作公开承诺并公示"))
    assert r.status_code == 302, r.content.decode()
    assert latest("pgs_pledge").fact == ""


def test_an_item_keeping_its_own_named_fact_keeps_its_marks(db):
    """An item whose own fact has a name (its marks are kept under it) and is shared by nobody else
    keeps that name when the editor's “单独标记” is saved."""
    item = latest("ocs_report")
    DutyItem.objects.filter(code="pgs_hear_report").update(fact="")
    choices, current = queries.fact_choices(item)
    assert current == "" and queries.stored_fact(item, "") == "organ_committee_report"
    assert queries.stored_fact(item, item.code) == ""
    assert queries.stored_fact(None, "lm_liaison") == "lm_liaison"


@pytest.mark.parametrize("fact", ["Bad Code", "no_such_fact", "organ_committee_report<script>"])
def test_a_shared_mark_that_is_not_offered_is_refused_in_chinese(personas, fact):
    admin = login(personas["wc_admin"])
    item = latest("pgs_pledge")
    before = (DutyItem.objects.count(), AuditEntry.objects.filter(table="duties.dutyitem").count())
    r = admin.post("/duties/items/edit/", form_of(item, fact=fact))
    assert r.status_code == 200
    assert "所选的共用事项不存在或已停用，请重新选择" in html.unescape(r.content.decode())
    assert (DutyItem.objects.count(), AuditEntry.objects.filter(table="duties.dutyitem").count()) == before


def test_the_service_refuses_an_unknown_fact_too(db):
    with pytest.raises(duty_services.DutyError, match="共用标记：所选的共用事项不存在或已停用"):
        duty_services.change_item(None, latest("pgs_pledge"), TODAY.year, fact="no_such_fact")
