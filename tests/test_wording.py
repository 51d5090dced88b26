"""Words a clerk reads: every table column has a heading, an error says what is wrong without an
example that reads like the answer, a form error stands under the field it concerns, one action
has one name on the page and in the change history, and no history line is left empty."""
import datetime as dt
import importlib
import re

from django.db import connection
from django.db.migrations.loader import MigrationLoader

from dangjian.activities import services as acts
from dangjian.core.models import AuditEntry
from tests import factories
from tests.factories import PASSWORD, TODAY, branch_with, login, page_text, visible_text


def cells(html: str, tag: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", html, re.S)]


def test_every_column_of_the_rules_table_has_a_heading(db, personas):
    page = page_text(login(personas["wc_admin"]).get("/activities/rules/"))
    table = re.search(r'<table class="[^"]*\brules\b[^"]*">(.*?)</table>', page, re.S).group(1)
    head = cells(re.search(r"<thead>(.*?)</thead>", table, re.S).group(1), "th")
    first_row = re.search(r"<tbody>\s*<tr[^>]*>(.*?)</tr>", table, re.S).group(1)
    assert len(head) == len(re.findall(r"<td\b", first_row)) and all(head), head
    assert "执行时间" in head


def test_password_rules_stand_under_the_new_password(personas):
    c = login(personas["member_a"])
    page = visible_text(page_text(c.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"})))
    assert re.search(r"新密码：[^\n]*数字", page) and "确认新密码：" not in page
    # The two entries differing is about the confirmation.
    page = visible_text(page_text(c.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": "Qx7!kLm2pz", "new_password2": "Qx7!kLm2py"})))
    assert "确认新密码：两次输入的新密码不一致" in page


def test_a_withdrawn_record_is_withdrawn_in_its_history_too(tree, personas):
    b = branch_with(tree["a"], full=3, code="CZ07")
    activity = factories.record(b, ["theme_day"], dt.date(2025, 7, 3), topic="七月主题党日",
                                attendance=factories.everyone(b))
    c = login(personas["unit_admin_a"])
    assert c.post(f"/activities/{activity.pk}/withdraw/", {"reason": "重复录入"}).status_code == 302
    page = visible_text(page_text(c.get(f"/activities/{activity.pk}/")))
    history = page[page.index("变更记录"):]
    assert "撤回" in history and "撤销" not in history and "撤回原因：（空） → 重复录入" in history
    assert dict(AuditEntry.ACTIONS)["delete"] == "删除"  # attachments and voter groups are deleted


def test_an_attendance_list_reads_as_names_in_the_history(tree, personas):
    b = branch_with(tree["a"], full=3, code="CZ08")
    att = factories.everyone(b)
    att[b.people[2].pk] = ("excused", "出差")
    activity = factories.record(b, ["theme_day"], dt.date(2025, 7, 3), attendance=att)
    att[b.people[1].pk] = "absent"
    acts.update_activity(None, activity, attendance=att, today=TODAY)
    html = page_text(login(personas["unit_admin_a"]).get(f"/activities/{activity.pk}/"))
    table = re.search(r'<table class="[^"]*\bhistory\b[^"]*">(.*?)</table>', html, re.S).group(1)
    history = visible_text(table)
    assert "出席（2 人）：成员0、成员1" in history and "请假（1 人）：成员2" in history
    assert "成员1：出席 → 缺席" in history
    assert "—" not in history  # every history row says what changed
    # the object column already says 出席情况: the note under the action does not repeat it
    rows = [cells(r, "td") for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    assert [r[3] for r in rows if r and r[2] == "出席情况"] == ["修改", "新增"]


def test_old_withdrawals_are_relabelled(tree):
    b = branch_with(tree["a"], full=2, code="CZ09")
    activity = factories.record(b, ["theme_day"], dt.date(2025, 7, 3), attendance=factories.everyone(b))
    old = AuditEntry.objects.create(table="activities.activity", object_id=activity.pk, action="delete",
                                    note="撤回记录", changes={"status": ["active", "withdrawn"]})
    gone = AuditEntry.objects.create(table="activities.attachment", object_id=1, action="delete", note="删除附件")
    migration = importlib.import_module("dangjian.core.migrations.0005_withdraw_action")
    # Run as migrate runs it, on the models as they were then (today's entries refuse changes).
    migration.forwards(MigrationLoader(connection).project_state(("core", "0005_withdraw_action")).apps, None)
    old.refresh_from_db()
    gone.refresh_from_db()
    assert (old.action, old.note) == ("withdraw", "") and gone.action == "delete"


def test_every_page_title_is_plain_text():
    """A page's <title> is words only: a block left open would pour the page's markup into the
    title bar (and nothing else would notice)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "dangjian"
    title = re.compile(r"{% block title %}(.*?){% endblock %}", re.S)
    bad = []
    for path in root.rglob("*.html"):
        for m in title.finditer(path.read_text(encoding="utf-8")):
            if "<" in m.group(1) or "\n" in m.group(1):
                bad.append(f"{path.relative_to(root)}: {m.group(1)[:60]!r}")
    assert not bad, bad
