"""Field keys: SM4-GCM and HMAC-SM3 for new keys, AES-GCM data still read, a key check value
beside the data that stops the server and every command when the key does not fit (and never a
key made silently where data exists), rotation in resumable batches, and a ciphertext that no
key opens shown as such, never a server error."""
import base64
import importlib
import io
import os
import shutil

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from dangjian import keys
from dangjian.core import crypto, keycheck, rotation
from dangjian.core.models import KeyCheck
from dangjian.members import io as member_io
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from tests import factories


@pytest.fixture
def keydir(tmp_path, monkeypatch):
    """An empty key directory of its own, the suite's own keys restored afterwards."""
    folder = tmp_path / "keys"
    monkeypatch.setenv("DANGJIAN_KEY_DIR", str(folder))
    monkeypatch.delenv("DANGJIAN_FIELD_KEY", raising=False)
    keys.forget()
    yield folder
    keys.forget()


def _copy_current_keys(to):
    to.mkdir(parents=True, exist_ok=True)
    for p in keys.key_files():
        shutil.copy(p, to / p.name)


@pytest.fixture
def own_keys(tree, monkeypatch, tmp_path):
    """The suite's keys copied into a directory of this test's own (rotation rewrites it)."""
    folder = tmp_path / "keys"
    _copy_current_keys(folder)
    monkeypatch.setenv("DANGJIAN_KEY_DIR", str(folder))
    keys.forget()
    yield folder
    keys.forget()


def _run_main(*args) -> tuple[int, str]:
    """`dangjian ARGS` up to the command itself: (exit code, stderr). The command is not run
    (a run closes the database connection, which would end the test's transaction)."""
    from django.core import management

    from dangjian import manage

    err = io.StringIO()
    real, ran = os.sys.stderr, []
    os.sys.stderr = err
    original = management.execute_from_command_line
    management.execute_from_command_line = ran.append
    try:
        manage.main(["dangjian", *args])
        code = 0 if ran == [["dangjian", *args]] else -1
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        os.sys.stderr = real
        management.execute_from_command_line = original
    return code, err.getvalue()


# ---- SM4 and the old AES data -----------------------------------------------------------------

def _sm3_hmac(key: bytes, data: bytes) -> str:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def test_new_keys_are_sm4_and_round_trip(keydir, db):
    key = keys.install_active(os.urandom(32))
    assert key.suite == keys.SM4 and (keydir / "field.key").read_text().startswith("sm4:")
    token = crypto.encrypt("11010519491231002X")
    assert token.startswith(f"v2:sm4gcm:{key.kid}:") and crypto.key_id_of(token) == key.kid
    assert crypto.decrypt(token) == "11010519491231002X"
    # Checked against the standard primitives directly: SM4-GCM under the HKDF-SM3 sub-key.
    raw = base64.b64decode(token.split(":", 3)[3])
    sub = HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=b"dangjian field encryption sm4").derive(key.secret)
    dec = Cipher(algorithms.SM4(sub), modes.GCM(raw[:12], raw[-16:])).decryptor()
    assert dec.update(raw[12:-16]) + dec.finalize() == b"11010519491231002X"
    hash_key = HKDF(algorithm=hashes.SM3(), length=32, salt=None, info=b"dangjian lookup hash sm3").derive(key.secret)
    assert crypto.lookup_hash("11010519491231002X") == _sm3_hmac(hash_key, b"11010519491231002X")
    assert key.kcv == _sm3_hmac(key.secret, b"dangjian key check value")


def _legacy_token(secret: bytes, value: str) -> tuple[str, str]:
    """A ciphertext and lookup hash as the version before 国密 support wrote them."""
    enc = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dangjian field encryption").derive(secret)
    look = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dangjian lookup hash").derive(secret)
    nonce = os.urandom(12)
    token = "v1:" + base64.b64encode(nonce + AESGCM(enc).encrypt(nonce, value.encode(), None)).decode()
    mac = hmac.HMAC(look, hashes.SHA256())
    mac.update(value.encode())
    return token, mac.finalize().hex()


def test_old_aes_data_is_still_read_and_found(tree, keydir):
    secret = os.urandom(32)
    keydir.mkdir()
    (keydir / "field.key").write_text(base64.urlsafe_b64encode(secret).decode())  # a key from before
    keys.forget()
    ma = tree["ma"]
    number = factories.id_number(seq=777)
    token, digest = _legacy_token(secret, number)
    Member.objects.filter(pk=ma.pk).update(id_number_enc=token, id_hash=digest)
    KeyCheck.objects.all().delete()  # a database from before key check values
    keycheck.verify()
    assert KeyCheck.objects.get().kid == keys.key_id(secret)
    assert Member.objects.get(pk=ma.pk).id_number == number
    assert Member.objects.by_id_number(number).get().pk == ma.pk


# ---- the key check ----------------------------------------------------------------------------

def test_missing_key_directory_stops_every_command_and_makes_no_key(tree, keydir):
    code, err = _run_main("check")
    assert code == 3
    assert "密钥与数据库中的数据不匹配" in err and str(keydir) in err and "从备份中恢复" in err
    assert not keydir.exists() or not list(keydir.iterdir())
    code, _ = _run_main("dumpdata", "core.keycheck")
    assert code == 3 and not keydir.exists()


def test_another_key_stops_the_server_and_the_commands(tree, keydir):
    keydir.mkdir()
    (keydir / "field.key").write_text(keys.encode(os.urandom(32)))
    keys.forget()
    code, err = _run_main("runserver", "--noreload")
    assert code == 3 and "密钥与数据库中的数据不匹配" in err and str(keydir) in err
    with pytest.raises(SystemExit) as stop:
        import dangjian.wsgi

        importlib.reload(dangjian.wsgi)
    assert stop.value.code == 3
    assert [p.name for p in keydir.iterdir()] == ["field.key"]


def test_the_key_is_refused_even_without_a_check_value(tree, keydir):
    # A database from before check values: the key is tried on the stored ciphertext.
    KeyCheck.objects.all().delete()
    keydir.mkdir()
    (keydir / "field.key").write_text(keys.encode(os.urandom(32)))
    keys.forget()
    with pytest.raises(keycheck.KeyMismatch, match="无法解密"):
        keycheck.verify()
    assert not KeyCheck.objects.exists()


def test_a_first_install_gets_its_key_and_check_value(db, keydir):
    KeyCheck.objects.all().delete()
    assert not Member.objects.exists()
    code, _ = _run_main("check")
    assert code == 0
    key = keys.field_keys().active
    assert key.suite == keys.SM4 and (keydir / "field.key").is_file()
    assert oct((keydir / "field.key").stat().st_mode & 0o777) == "0o600"
    assert list(KeyCheck.objects.values_list("kid", "kcv")) == [(key.kid, key.kcv)]


def test_the_matching_key_starts(tree):
    assert _run_main("check") == (0, "")
    assert KeyCheck.objects.filter(kid=keys.field_keys().active.kid).exists()


# ---- a ciphertext no key opens ----------------------------------------------------------------

def test_undecryptable_numbers_never_answer_500(tree, personas, login_as, tmp_path):
    ma = tree["ma"]
    stranger = keys.FieldKey(os.urandom(32), keys.SM4, "test")
    Member.objects.filter(pk=ma.pk).update(id_number_enc=crypto.encrypt(factories.id_number(seq=555), stranger))
    c = login_as("wcadmin")
    r = c.post(reverse("members:reveal", args=[ma.pk]))
    assert r.status_code == 200 and crypto.UNREADABLE in r.content.decode()
    assert c.get(reverse("members:detail", args=[ma.pk])).status_code == 200
    api = APIClient()
    api.force_authenticate(personas["wc_admin"])
    r = api.get(f"/api/members/{ma.pk}/")
    assert r.status_code == 200 and r.json()["id_number"] == crypto.UNREADABLE
    member_io.export_members(Member.objects.filter(pk=ma.pk), tmp_path / "x.xlsx", user=personas["wc_admin"])
    r = api.patch(f"/api/members/{ma.pk}/", {"post": "主任"}, format="json")
    assert r.status_code == 400 and "无法解密" in r.json()["errors"]["id_number"][0]


# ---- rotation ---------------------------------------------------------------------------------

def _everyone(n=6):
    root = Organization.objects.get(code="CZ")
    people = [factories.member(factories.org(root, code=f"R{i}"), name=f"轮换{i}") for i in range(n)]
    return {m.pk: m.id_number for m in people} | {m.pk: m.id_number for m in Member.objects.all()}


def test_rotate_key_reencrypts_everything_with_progress(own_keys, tree):
    numbers = _everyone()
    old = keys.field_keys().active
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate-key", "--batch", "3", stdout=out, stderr=err)
    new = keys.field_keys().active
    assert new.kid != old.kid and new.suite == keys.SM4 and keys.field_keys().others == []
    assert "（100%）" in err.getvalue() and "/" in err.getvalue() and "密钥轮换完成" in out.getvalue()
    for m in Member.objects.all():
        assert m.id_number_enc.startswith(crypto.prefix(new)) and m.id_number == numbers[m.pk]
        assert m.id_hash == crypto.lookup_hash(numbers[m.pk], new)
        assert Member.objects.by_id_number(numbers[m.pk]).get().pk == m.pk
    assert list(KeyCheck.objects.values_list("kid", flat=True)) == [new.kid]
    assert (own_keys / "retired" / f"field-{old.kid}.key").is_file()
    assert _run_main("check")[0] == 0


def test_an_interrupted_rotation_resumes_and_lookups_work_meanwhile(own_keys, tree, monkeypatch):
    numbers = _everyone()
    old = keys.field_keys().active
    calls = {"n": 0}
    real = type(Member._base_manager).bulk_update

    def stop_in_the_second_batch(manager, rows, fields, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the operator's Ctrl-C
        return real(manager, rows, fields, **kw)

    monkeypatch.setattr(type(Member._base_manager), "bulk_update", stop_in_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate(batch=2)
    monkeypatch.setattr(type(Member._base_manager), "bulk_update", real)
    keys.forget()
    ring = keys.field_keys()
    assert ring.active.kid != old.kid and [k.kid for k in ring.others] == [old.kid]
    under_new = Member.objects.filter(id_number_enc__startswith=crypto.prefix(ring.active)).count()
    assert under_new == 2  # the first batch committed, the second rolled back
    for pk, number in numbers.items():  # both keys are read meanwhile
        assert Member.objects.by_id_number(number).get().pk == pk
    assert _run_main("check")[0] == 0
    result = rotation.rotate(batch=2)
    assert result["resumed"] and result["rows"] == len(numbers) - 2 and result["retired"] == [old.kid]
    assert all(m.id_number == numbers[m.pk] for m in Member.objects.all())


def test_a_rotation_stopped_right_after_its_new_key_resumes(own_keys, tree):
    numbers = _everyone(2)
    old = keys.field_keys().active
    new = keys.install_active(os.urandom(32))  # and then the process died
    assert not KeyCheck.objects.filter(kid=new.kid).exists()
    assert _run_main("check")[0] == 0
    assert set(KeyCheck.objects.values_list("kid", flat=True)) == {old.kid, new.kid}
    result = rotation.rotate()
    assert result["resumed"] and result["key"] == new.kid and result["retired"] == [old.kid]
    assert all(m.id_number == numbers[m.pk] for m in Member.objects.all())
