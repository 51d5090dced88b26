"""Versions on the records edited beside the main ones: voter groups, rectification items,
terms, committee seats and the assessors' manual score grid. As in test_writes.py, the second
of two editors who read the same version is told in Chinese, and nothing of the first is lost."""
from decimal import Decimal

from dangjian.reviews import services as review_services
from dangjian.reviews.models import ReviewItem, VoterGroup
from tests import factories
from tests.test_writes import form_of, web_as


def _review_with_group(tree):
    review = review_services.create_review(None, tree["wc"], factories.TODAY.year, "年度述职评议")
    return review, review_services.add_group(None, review, "党员代表", 60)


# ---- 投票群体 ----------------------------------------------------------------------------------

def test_second_organizer_changing_a_voter_group_is_refused(tree, personas):
    review, group = _review_with_group(tree)
    url = f"/reviews/{review.pk}/groups/"
    first, second = web_as(personas["wc_admin"]), web_as(personas["wc_admin"])
    read = group.version  # both organizers drew the group at this version
    sent = {"action": "update", "group": group.pk, "version": read}
    assert first.post(url, {**sent, "name": "党员代表", "weight": "70"}).status_code == 302
    refused = second.post(url, {**sent, "name": "党员代表（在职）", "weight": "60"}, follow=True)
    assert "此投票群体已被他人修改" in refused.content.decode()
    stored = VoterGroup.objects.get(pk=group.pk)
    assert (stored.name, stored.weight) == ("党员代表", Decimal("70"))  # the first change kept
    assert stored.version == read + 1


# ---- 点评整改事项 ------------------------------------------------------------------------------

def test_an_item_returned_meanwhile_is_not_marked_done_over_the_return(tree, personas):
    review = review_services.create_review(None, tree["wc"], factories.TODAY.year, "年度述职评议")
    report = review_services.submit_report(None, review, tree["a"], tree["ma"], text="本单位抓基层党建工作情况。" * 20)
    group = review_services.add_group(None, review, "党员代表", 100)
    review_services.issue_ballots(None, group, review_services.min_group())
    review_services.open_review(None, review)
    item = review_services.add_item(None, report, "支部书记培训覆盖不全，请制定培训计划")
    item = review_services.complete_item(None, item, "已制定培训计划")
    url = f"/reviews/reports/{report.pk}/items/"
    organizer, unit = web_as(personas["wc_admin"]), web_as(personas["unit_admin_a"])
    shown = form_of(organizer, f"/reviews/reports/{report.pk}/")  # the page holds the item's version
    assert shown["version"] == str(ReviewItem.objects.get(pk=item.pk).version)
    read = int(shown["version"])

    assert organizer.post(url, {"action": "reopen", "item": item.pk, "version": read,
                                "reason": "培训未覆盖新任支部书记"}).status_code == 302
    # The unit, still looking at the old page, cannot complete it again with the old version.
    review_services.complete_item(None, item, "补充培训", read + 1)
    stale = web_as(personas["wc_admin"]).post(url, {"action": "reopen", "item": item.pk, "version": read + 1,
                                                    "reason": "再次退回"}, follow=True)
    assert "此点评整改事项已被他人修改" in stale.content.decode()
    stored = ReviewItem.objects.get(pk=item.pk)
    assert (stored.status, stored.done_note) == ("done", "补充培训")
    refused = unit.post(url, {"action": "done", "item": item.pk, "version": read, "done_note": "旧页面上的说明"},
                        follow=True)
    assert "此点评整改事项已被他人修改" in refused.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).done_note == "补充培训"
