"""Backup and restore: a round trip (records, decrypted 身份证号, attachments) through
`dangjian backup` and `dangjian restore` after the database and the files are wiped, on the
database the suite runs on (SQLite; PostgreSQL and MariaDB with DANGJIAN_DATABASE_URL); and
the refusals — a damaged file, another key, a database holding data, keys beside the data."""
import datetime as dt
import json
import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from dangjian import keys
from dangjian.activities.models import Attachment
from dangjian.core.models import AuditEntry, KeyCheck
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def data(tree, personas, media):
    act = factories.record(tree["a1"], ["theme_day"], dt.date(2025, 7, 1), attendance={tree["ma"].pk: "present"})
    att = Attachment(activity=act, name="签到表.pdf", size=len(PDF), content_type="application/pdf")
    att.file.save("签到表.pdf", ContentFile(PDF), save=True)
    return tree


def snapshot() -> dict:
    return {
        "members": sorted((m.pk, m.name, m.id_number, m.id_hash, m.id_mask, m.org_id) for m in Member.objects.all()),
        "orgs": sorted(Organization.objects.values_list("pk", "code", "name", "path")),
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
        "audit": sorted(AuditEntry.objects.values_list("pk", "table", "object_id", "action")),
        "attachments": sorted(Attachment.objects.values_list("pk", "file", "name")),
        "keys": sorted(KeyCheck.objects.values_list("kid", "kcv")),
    }


def files(root) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def wipe(media) -> None:
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(media)
    assert not Member.objects.exists() and not media.exists()


def test_round_trip_restores_rows_numbers_and_files(data, media, tmp_path):
    before, stored = snapshot(), files(media)
    assert before["members"] and before["attachments"] and stored
    assert all(len(m[2]) == 18 for m in before["members"])  # the numbers decrypt before
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), stdout=open(os.devnull, "w"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["key_checks"] == [{"kid": k, "suite": keys.field_keys().get(k).suite, "kcv": v}
                                      for k, v in before["keys"]]
    assert manifest["version"] and manifest["created_at"] and manifest["database"] in manifest["files"]
    assert all(len(c["sha256"]) == 64 and len(c["sm3"]) == 64 for c in manifest["files"].values())
    assert not any(name.endswith(".key") for name in manifest["files"])  # no key beside the data

    wipe(media)
    call_command("restore", str(out), stdout=open(os.devnull, "w"))
    assert snapshot() == before
    assert files(media) == stored


def test_restore_refuses_a_database_holding_data_without_force(data, media, tmp_path):
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), stdout=open(os.devnull, "w"))
    before = snapshot()
    factories.member(data["a1"], name="后来的人")
    with pytest.raises(CommandError, match="已有数据.*--force"):
        call_command("restore", str(out))
    call_command("restore", str(out), "--force", stdout=open(os.devnull, "w"))
    assert snapshot() == before and not Member.objects.filter(name="后来的人").exists()


def test_restore_refuses_a_damaged_backup(data, media, tmp_path):
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), stdout=open(os.devnull, "w"))
    attachment = next(p for p in (out / "media").rglob("*") if p.is_file())
    attachment.write_bytes(attachment.read_bytes() + b"x")
    wipe(media)
    with pytest.raises(CommandError, match="校验和不符"):
        call_command("restore", str(out))
    assert not Member.objects.exists()


def test_restore_refuses_another_key(data, media, tmp_path, monkeypatch):
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), stdout=open(os.devnull, "w"))
    wipe(media)
    monkeypatch.setenv("DANGJIAN_FIELD_KEY", keys.encode(os.urandom(32)))
    keys.forget()
    try:
        with pytest.raises(CommandError, match="密钥与数据库中的数据不匹配") as refused:
            call_command("restore", str(out))
        assert str(keys.key_dir()) in str(refused.value)
        assert not Member.objects.exists()
    finally:
        monkeypatch.delenv("DANGJIAN_FIELD_KEY")
        keys.forget()


def test_keys_are_copied_only_when_asked_and_only_elsewhere(data, media, tmp_path):
    out = tmp_path / "backup"
    with pytest.raises(CommandError, match="不同的位置"):
        call_command("backup", "--out", str(out), "--with-keys", str(out / "keys"))
    call_command("backup", "--out", str(out), "--with-keys", str(tmp_path / "keys"), stdout=open(os.devnull, "w"))
    copied = tmp_path / "keys" / "field.key"
    assert copied.read_text() == (keys.key_dir() / "field.key").read_text()
    assert oct(copied.stat().st_mode & 0o777) == "0o600"
    assert not any(p.suffix == ".key" for p in out.rglob("*"))
