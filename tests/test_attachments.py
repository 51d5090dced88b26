"""Attachments of organizational-life records: optional, checked for size, type and content;
a record saved with a bad file writes nothing (neither rows nor files); files are served only
through the record's scoping, never from a public URL; removal keeps the history."""
import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.activities import services as acts
from dangjian.activities.models import Activity, Attachment, Attendance
from dangjian.core.models import AuditEntry
from tests import factories
from tests.factories import login
from tests.factories import page_text as text

DAY = timezone.localdate() - dt.timedelta(days=2)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32



def pdf(name="签到表.pdf", body=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, body, content_type)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def branch(tree):
    a1 = tree["a1"]
    return {"org": a1, "people": [tree["ma"], factories.member(a1, name="赵一")]}


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def post_record(client, org, people, files=(), **overrides):
    data = {"kinds": ["theme_day"], "held_on": DAY.isoformat(), "topic": "学习党章", "minutes": "学习党章。",
            **{f"att_{m.pk}": "present" for m in people}}
    if files:
        data["attachments"] = list(files)
    data.update(overrides)
    return client.post(f"/activities/org/{org.pk}/new/", data)


def nothing_written():
    return not (Activity.objects.exists() or Attendance.objects.exists() or Attachment.objects.exists()
                or AuditEntry.objects.filter(table__startswith="activities.").exists())


def test_record_with_files_lists_and_serves_them(branch, personas, media):
    c = login(personas["secretary_a1"])
    form = text(c.get(f"/activities/org/{branch['org'].pk}/new/"))
    assert 'enctype="multipart/form-data"' in form and 'type="file" name="attachments"' in form and "multiple" in form
    r = post_record(c, branch["org"], branch["people"], files=[pdf(), SimpleUploadedFile("现场.png", PNG, "image/png")])
    assert r.status_code == 302, text(r)
    activity = Activity.objects.get()
    files = list(activity.attachments.order_by("id"))
    assert [(f.name, f.size, f.content_type) for f in files] == [
        ("签到表.pdf", len(PDF), "application/pdf"), ("现场.png", len(PNG), "image/png")]
    # Stored under generated names: no user text reaches the file system.
    on_disk = stored_files(media)
    assert len(on_disk) == 2 and not any("签到表" in str(p) or "现场" in str(p) for p in on_disk)

    page = text(c.get(r["Location"]))
    for f in files:
        assert f'href="/activities/attachments/{f.pk}/"' in page and f.name in page
        assert f.file.name not in page  # the storage path is never shown
    assert "上传附件：签到表.pdf" in page.split('<h2 class="h6">变更记录</h2>')[1]

    resp = c.get(f"/activities/attachments/{files[0].pk}/")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == PDF
    assert resp["Content-Type"] == "application/pdf" and resp["Content-Disposition"].startswith("attachment")
    assert resp["X-Content-Type-Options"] == "nosniff"
    # A member listed at the meeting sees the record, and so its files.
    assert login(personas["member_a"]).get(f"/activities/attachments/{files[0].pk}/").status_code == 200
    # No public URL reaches the files.
    for url in (f"/media/{files[0].file.name}", f"/{files[0].file.name}", f"/static/{files[0].file.name}"):
        assert c.get(url).status_code == 404, url


def test_records_need_no_attachment(branch, personas, media):
    r = post_record(login(personas["secretary_a1"]), branch["org"], branch["people"])
    assert r.status_code == 302 and not Attachment.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize("files, message", [
    ([SimpleUploadedFile("run.exe", b"MZ\x90\x00", "application/octet-stream")],
     "附件：“run.exe”的类型不支持，只能上传 PDF、JPG、PNG、DOCX、XLSX、PPTX 文件"),
    ([pdf("scan.pdf", b"MZ\x90\x00 renamed program")], "附件：“scan.pdf”的内容与扩展名 .pdf 不符"),
    ([pdf("scan.pdf", PDF, "text/html")], "附件：“scan.pdf”的内容类型（text/html）与扩展名不符"),
    ([pdf("big.pdf", PDF + b"0" * 2048)], "附件：“big.pdf”超过 1 KB 的上限，请压缩后再上传"),
    ([pdf("empty.pdf", b"")], "附件：“empty.pdf”是空文件"),
    ([pdf(), SimpleUploadedFile("notes.txt", b"hello", "text/plain")], "“notes.txt”的类型不支持"),
    ([pdf(f"{i}.pdf") for i in range(acts.MAX_ATTACHMENTS_PER_SAVE + 1)], "一次最多上传 10 个附件"),
])
def test_bad_files_refuse_the_whole_record(branch, personas, media, settings, files, message):
    settings.ACTIVITY_ATTACHMENT_MAX_BYTES = 1024  # so that "big.pdf" is over it
    c = login(personas["secretary_a1"])
    r = post_record(c, branch["org"], branch["people"], files=files)
    assert r.status_code == 200
    page = text(r)
    field = page.split('class="col-12 attachments-input"')[1].split("</div>\n    </div>")[0]
    assert message in field  # the error sits on the file field
    assert "所选附件需要重新选择" in page
    assert nothing_written() and stored_files(media) == []


def test_edit_adds_files_and_a_bad_file_changes_nothing(branch, personas, media):
    c = login(personas["secretary_a1"])
    post_record(c, branch["org"], branch["people"])
    activity = Activity.objects.get()
    data = {"kinds": ["theme_day"], "held_on": DAY.isoformat(), "topic": "学习新党章",
            **{f"att_{m.pk}": "present" for m in branch["people"]}}
    history = AuditEntry.objects.count()
    r = c.post(f"/activities/{activity.pk}/edit/", {**data, "attachments": [pdf("x.pdf", b"not a pdf")]})
    assert r.status_code == 200 and "“x.pdf”的内容与扩展名 .pdf 不符" in text(r)
    activity.refresh_from_db()
    assert activity.topic == "学习党章" and AuditEntry.objects.count() == history
    assert not Attachment.objects.exists() and stored_files(media) == []
    r = c.post(f"/activities/{activity.pk}/edit/", {**data, "attachments": [pdf()]})
    assert r.status_code == 302, text(r)
    activity.refresh_from_db()
    assert activity.topic == "学习新党章" and activity.attachments.get().name == "签到表.pdf"
    assert len(stored_files(media)) == 1


def test_a_failing_write_removes_the_files_it_stored(branch, media, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(AuditEntry.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        acts.record_activity(None, branch["org"], ["theme_day"], DAY, topic="会议", attachments=[pdf(), pdf("b.pdf")])
    assert not Activity.objects.exists() and not Attachment.objects.exists()
    assert stored_files(media) == []


def test_scoping_of_download_and_removal(branch, personas, media, tree):
    act = acts.record_activity(None, branch["org"], ["theme_day"], DAY, topic="会议",
                               attendance={tree["ma"]: "present"}, attachments=[pdf()])
    att = act.attachments.get()
    url, remove = f"/activities/attachments/{att.pk}/", f"/activities/attachments/{att.pk}/remove/"
    for who in ("unit_admin_b",):
        c = login(personas[who])
        assert c.get(url).status_code == 404 and c.post(remove).status_code == 404
    for who in ("leader", "member_a", "unit_admin_b"):  # may read (or not), never remove
        assert login(personas[who]).post(remove).status_code == 404
    assert login(personas["leader"]).get(url).status_code == 200
    taken = AuditEntry.objects.get(action="export", changes__kind="attachment")
    assert taken.user == personas["leader"] and taken.changes["filters"]["attachment"] == att.pk
    other = factories.member(branch["org"], name="钱二")
    outsider = factories.user("member", branch["org"], member=other)
    assert login(outsider).get(url).status_code == 404  # not listed at this meeting
    c = login(personas["secretary_a1"])
    assert c.get(remove).status_code == 405
    assert Attachment.objects.get().is_active


def test_removal_is_audited_and_keeps_history(branch, personas, media, tree):
    act = acts.record_activity(None, branch["org"], ["theme_day"], DAY, topic="会议", attachments=[pdf()])
    att = act.attachments.get()
    c = login(personas["secretary_a1"])
    r = c.post(f"/activities/attachments/{att.pk}/remove/")
    assert r.status_code == 302 and r["Location"] == f"/activities/{act.pk}/"
    att.refresh_from_db()
    assert not att.is_active and len(stored_files(media)) == 1  # history, not deletion
    entry = AuditEntry.objects.get(table="activities.attachment", object_id=att.pk, action="delete")
    assert entry.user == personas["secretary_a1"] and entry.note == "删除附件：签到表.pdf"
    page = text(c.get(r["Location"]))
    assert "已删除" in page and f'href="/activities/attachments/{att.pk}/"' not in page
    history = page.split('<h2 class="h6">变更记录</h2>')[1]
    assert "删除附件：签到表.pdf" in history and "上传附件：签到表.pdf" in history and "附件（签到表.pdf）" in history
    assert c.get(f"/activities/attachments/{att.pk}/").status_code == 404
    assert c.post(f"/activities/attachments/{att.pk}/remove/").status_code == 404
    # A withdrawn record's files can still be read, no longer removed.
    second = acts.add_attachment(None, act, pdf("课件.pdf"))
    acts.withdraw_activity(None, act, "重复录入")
    assert c.get(f"/activities/attachments/{second.pk}/").status_code == 200
    assert c.post(f"/activities/attachments/{second.pk}/remove/").status_code == 404
    with pytest.raises(acts.ActivityError, match="已撤回"):
        acts.add_attachment(None, act, pdf("再来.pdf"))


def test_a_lost_file_answers_404_not_500(branch, personas, media):
    act = acts.record_activity(None, branch["org"], ["theme_day"], DAY, topic="会议", attachments=[pdf()])
    for p in stored_files(media):
        p.unlink()
    r = login(personas["secretary_a1"]).get(f"/activities/attachments/{act.attachments.get().pk}/")
    assert r.status_code == 404


def test_api_lists_attachments_by_name_and_size(branch, personas, media):
    act = acts.record_activity(None, branch["org"], ["theme_day"], DAY, topic="会议", attachments=[pdf(), pdf("b.pdf")])
    acts.remove_attachment(None, act.attachments.get(name="b.pdf"))
    c = login(personas["secretary_a1"])
    body = c.get(f"/api/activities/{act.pk}/").json()
    assert [(a["name"], a["size"]) for a in body["attachments"]] == [("签到表.pdf", len(PDF))]


def test_record_page_queries_do_not_grow_with_attachments(branch, personas, media):
    act = acts.record_activity(None, branch["org"], ["theme_day"], DAY, topic="会议", attachments=[pdf()])
    c = login(personas["secretary_a1"])

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(f"/activities/{act.pk}/").status_code == 200
        return len(ctx)

    small = queries()
    for i in range(6):
        acts.add_attachment(None, act, pdf(f"第{i}页.pdf"))
    acts.remove_attachment(None, act.attachments.order_by("id").first())
    assert queries() == small
    assert len(re.findall(r"data-attachment=", text(c.get(f"/activities/{act.pk}/")))) == 6
