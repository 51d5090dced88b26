"""The rectification item workflow: who may make which move in which state, deadlines in
working days, 退回, 转办 traceable from both ends, and the figures against a naive count."""
import datetime as dt
import random

import pytest

from dangjian.core.models import AuditEntry
from dangjian.core.versioning import StaleVersion
from dangjian.rectification import queries, services
from dangjian.rectification.models import Item, ItemEvent
from dangjian.rectification.services import ItemError
from dangjian.rectification.signals import item_changed

TODAY = dt.date(2026, 11, 20)


def opened(tree, personas, **over):
    fields = dict(org=tree["a1"], title="“三会一课”记录不全", description="2026年第三季度党课无记录", source="manual",
                  issuer=tree["wc"], deadline=dt.date(2026, 12, 31), opened_on=dt.date(2026, 11, 2), today=TODAY)
    fields.update(over)
    return services.open_item(personas["wc_admin"], **fields)


@pytest.fixture
def item(tree, personas):
    return opened(tree, personas)


def test_an_item_goes_from_pending_to_closed_with_each_step_on_its_timeline(tree, personas, item):
    sec, wc = personas["secretary_a1"], personas["wc_admin"]
    services.sign(sec, item, today=TODAY)
    services.add_note(sec, item, text="已补开党课", today=TODAY)
    services.request_close(sec, item, evidence="党课记录及签到表已上传", today=TODAY)
    services.close(wc, item, verification="核查属实", today=TODAY)
    item.refresh_from_db()
    assert item.status == Item.Status.CLOSED and item.closed_on == TODAY
    assert [e.kind for e in queries.timeline(item)] == ["open", "sign", "note", "request", "close"]
    assert item.overdue_days(TODAY) == 0
    # four moves of the item itself, and the progress note as a record of its own
    assert AuditEntry.objects.filter(table="rectification.item", object_id=item.pk).count() == 4
    assert AuditEntry.objects.filter(table="rectification.itemevent").count() == 1


@pytest.mark.parametrize("who,move", [
    ("unit_admin_b", "sign"),          # another department
    ("wc_admin", "request"),          # the issuer's staff may also edit the branch: allowed below
    ("secretary_a1", "close"),        # the responsible side never closes
    ("unit_admin_a", "close"),        # the department over the branch did not issue the item
    ("leader", "sign"),               # read-only
])
def test_each_side_makes_only_its_own_moves(tree, personas, item, who, move):
    sec = personas["secretary_a1"]
    if move == "close":
        services.sign(sec, item, today=TODAY)
        services.request_close(sec, item, evidence="已整改", today=TODAY)
    if move == "request":
        services.sign(sec, item, today=TODAY)
        # 工委 staff hold edit over the whole tree, so they are on both sides: the move is allowed
        services.request_close(personas[who], item, evidence="代为提交", today=TODAY)
        return
    before = Item.objects.get(pk=item.pk).status
    with pytest.raises(ItemError) as e:
        if move == "sign":
            services.sign(personas[who], item, today=TODAY)
        else:
            services.close(personas[who], item, verification="核查属实", today=TODAY)
    assert "您所在的一方不能" in e.value.message
    assert Item.objects.get(pk=item.pk).status == before
    assert not ItemEvent.objects.filter(item=item, kind=move).exists()


def test_the_member_named_responsible_moves_it_forward(tree, personas):
    item = opened(tree, personas, responsible=tree["ma"])
    services.sign(personas["member_a"], item, today=TODAY)
    assert Item.objects.get(pk=item.pk).status == Item.Status.RECTIFYING
    assert Item.objects.visible_to(personas["member_a"]).filter(pk=item.pk).exists()


def test_moves_out_of_order_are_refused_and_write_nothing(tree, personas, item):
    sec, wc = personas["secretary_a1"], personas["wc_admin"]
    with pytest.raises(ItemError, match="待签收，不能申请销号"):
        services.request_close(sec, item, evidence="已整改", today=TODAY)
    with pytest.raises(ItemError, match="不能销号"):
        services.close(wc, item, verification="核查属实", today=TODAY)
    services.sign(sec, item, today=TODAY)
    with pytest.raises(ItemError, match="申请销号须写明"):
        services.request_close(sec, item, evidence="  ", today=TODAY)
    services.request_close(sec, item, evidence="已整改", today=TODAY)
    with pytest.raises(ItemError, match="销号须写明"):
        services.close(wc, item, verification="", today=TODAY)
    assert Item.objects.get(pk=item.pk).status == Item.Status.CLOSING
    assert ItemEvent.objects.filter(item=item).count() == 3


def test_a_return_sends_it_back_with_the_reason_and_is_counted(tree, personas, item):
    sec, wc = personas["secretary_a1"], personas["wc_admin"]
    services.sign(sec, item, today=TODAY)
    services.request_close(sec, item, evidence="已整改", today=TODAY)
    services.return_item(wc, item, reason="佐证材料不足，缺少签到表", today=TODAY)
    item.refresh_from_db()
    assert item.status == Item.Status.RECTIFYING and item.returned_count == 1
    assert queries.timeline(item)[-1].text == "佐证材料不足，缺少签到表"
    services.request_close(sec, item, evidence="已补签到表", today=TODAY)
    services.return_item(wc, item, reason="仍不完整", today=TODAY)
    assert Item.objects.get(pk=item.pk).returned_count == 2


def test_a_deadline_before_the_item_was_opened_is_refused(tree, personas):
    with pytest.raises(ItemError, match="不能早于交办日期") as e:
        opened(tree, personas, deadline=dt.date(2026, 11, 1))
    assert e.value.field == "deadline"
    assert not Item.objects.exists()


@pytest.mark.parametrize("over,field,message", [
    ({"title": "  "}, "title", "事项：必填"),
    ({"title": "问" * 201}, "title", "过长"),
    ({"list": "wish"}, "list", "清单"),
    ({"deadline": None}, "deadline", "整改时限：必填"),
    ({"deadline": dt.date(2026, 12, 1), "workdays": 5}, "deadline", "其中一项"),
    ({"deadline": None, "workdays": 0}, "workdays", "1 到 250"),
    ({"deadline": None, "workdays": "五"}, "workdays", "整数"),
    ({"opened_on": dt.date(2026, 11, 21)}, "opened_on", "不能晚于今天"),
])
def test_bad_input_is_refused_in_chinese_naming_the_field(tree, personas, over, field, message):
    with pytest.raises(ItemError) as e:
        opened(tree, personas, **over)
    assert e.value.field == field and message in e.value.message
    assert not Item.objects.exists() and not ItemEvent.objects.exists()


def test_a_responsible_person_outside_the_org_is_refused(tree, personas):
    with pytest.raises(ItemError, match="王芳不在“财政局第一党支部”") as e:
        opened(tree, personas, responsible=tree["mb"])
    assert e.value.field == "responsible"


def test_a_deadline_in_working_days_skips_the_national_day_holiday(tree, personas):
    item = opened(tree, personas, opened_on=dt.date(2026, 9, 30), deadline=None, workdays=5)
    # 10-1..10-7 off, 10-10 (Saturday) a make-up working day: 10-9, 10-10, 10-12, 10-13 → the 5th is 10-13
    assert item.deadline == dt.date(2026, 10, 13) and item.workdays == 5


def test_a_deadline_in_a_year_without_a_calendar_is_refused(tree, personas):
    with pytest.raises(ItemError, match="2027 年的节假日和调休安排尚未录入"):
        opened(tree, personas, opened_on=dt.date(2026, 11, 20), deadline=None, workdays=40)
    assert not Item.objects.exists()


def test_a_referral_is_traceable_from_both_ends(tree, personas, item):
    wc = personas["wc_admin"]
    new = services.refer(wc, item, to_org=tree["b1"], reason="属教育局职责", today=TODAY)
    item.refresh_from_db()
    assert item.status == Item.Status.REFERRED and item.final() == new
    assert new.referred_from == item and new.status == Item.Status.PENDING and new.org == tree["b1"]
    assert queries.chain(new) == ([item], []) and queries.chain(item) == ([], [new])
    # the department now responsible sees the new item, not the original; the referring side both
    ub, ua = personas["unit_admin_b"], personas["unit_admin_a"]
    assert set(Item.objects.visible_to(ub)) == {new}
    assert set(Item.objects.visible_to(ua)) == {item}
    assert set(Item.objects.visible_to(wc)) == {item, new}
    # counted once, by the item answering
    assert queries.counts(Item.objects.all(), TODAY)["total"] == 1
    services.sign(personas["unit_admin_b"], new, today=TODAY)
    services.request_close(personas["unit_admin_b"], new, evidence="已整改", today=TODAY)
    services.close(wc, new, verification="核查属实", today=TODAY)
    assert item.final().status == Item.Status.CLOSED


@pytest.mark.parametrize("to,message", [("a1", "已由“财政局第一党支部”负责"), (None, "转办至：必填")])
def test_a_referral_to_the_same_or_no_org_is_refused(tree, personas, item, to, message):
    with pytest.raises(ItemError, match=message):
        services.refer(personas["wc_admin"], item, to_org=tree.get(to), reason="不属本单位", today=TODAY)
    assert Item.objects.count() == 1 and Item.objects.get().status == Item.Status.PENDING


def test_only_the_issuing_side_refers(tree, personas, item):
    with pytest.raises(ItemError, match="不能转办"):
        services.refer(personas["secretary_a1"], item, to_org=tree["b1"], reason="不属本单位", today=TODAY)


def test_two_people_saving_one_item_never_lose_a_change(tree, personas, item):
    read_by_both = Item.objects.get(pk=item.pk).version
    services.sign(personas["secretary_a1"], item, today=TODAY, version=read_by_both)
    with pytest.raises(StaleVersion):
        services.change_deadline(personas["wc_admin"], item, deadline=dt.date(2027, 1, 15), reason="延期",
                                 today=TODAY, version=read_by_both)
    assert Item.objects.get(pk=item.pk).deadline == dt.date(2026, 12, 31)


def test_every_state_change_is_signalled_after_commit(tree, personas, django_capture_on_commit_callbacks):
    seen = []

    def listener(sender, item, event, **kw):
        seen.append((item.pk, event.kind))

    item_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            item = opened(tree, personas)
            services.sign(personas["secretary_a1"], item, today=TODAY)
    finally:
        item_changed.disconnect(listener)
    assert seen == [(item.pk, "open"), (item.pk, "sign")]


def test_figures_match_a_naive_count_over_generated_items(tree, personas):
    rng = random.Random(12)
    sec_of = {"a1": personas["secretary_a1"], "b1": personas["wc_admin"]}
    wc = personas["wc_admin"]
    for n in range(40):
        key = rng.choice(["a1", "b1"])
        opened_on = dt.date(2026, rng.randint(1, 10), rng.randint(1, 28))
        it = opened(tree, personas, org=tree[key], opened_on=opened_on,
                    deadline=opened_on + dt.timedelta(days=rng.randint(5, 90)), title=f"事项{n}")
        step = rng.randint(0, 4)
        if step >= 1:
            services.sign(sec_of[key], it, today=TODAY)
        if step >= 2:
            services.request_close(sec_of[key], it, evidence="已整改", today=TODAY)
        if step >= 3 and rng.random() < 0.4:
            services.return_item(wc, it, reason="不完整", today=TODAY)
            services.request_close(sec_of[key], it, evidence="已补充", today=TODAY)
        if step >= 4:
            day = min(TODAY, it.deadline + dt.timedelta(days=rng.randint(-20, 20)))
            services.close(wc, it, verification="核查属实", on=max(day, it.opened_on), today=TODAY)
    everything = list(Item.objects.all())
    naive = {
        "total": len(everything),
        "open": sum(i.is_open for i in everything),
        "overdue": sum(i.is_open and i.deadline < TODAY for i in everything),
        "closed": sum(i.status == "closed" for i in everything),
        "on_time": sum(i.status == "closed" and i.closed_on <= i.deadline for i in everything),
        "returned": sum(i.returned_count > 0 for i in everything),
    }
    assert queries.counts(Item.objects.all(), TODAY) == naive
    units = {r["name"]: r for r in queries.by_unit(Item.objects.all(), TODAY)}
    for unit, key in (("市财政局机关党委", "a1"), ("市教育局机关党委", "b1")):
        mine = [i for i in everything if i.org_id == tree[key].pk]
        assert units[unit]["total"] == len(mine)
        assert units[unit]["overdue"] == sum(i.is_open and i.deadline < TODAY for i in mine)
    assert naive["overdue"] and naive["on_time"] and naive["returned"] and naive["closed"] > naive["on_time"]
