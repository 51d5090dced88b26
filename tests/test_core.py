import datetime as dt

import pytest

from dangjian.core import crypto, idcard
from dangjian.members.models import Member
from dangjian.orgs.models import Organization


def test_checksum_known_number():
    # GB 11643 worked example: 11010519491231002X
    assert idcard.validate("11010519491231002x") == "11010519491231002X"
    with pytest.raises(idcard.IdNumberError, match="校验码"):
        idcard.validate("110105194912310021")
    with pytest.raises(idcard.IdNumberError, match="出生日期"):
        idcard.validate("11010519490230002" + idcard.check_digit("11010519490230002"))


def test_make_roundtrip_and_mask():
    n = idcard.make("320102", dt.date(1990, 2, 28), 17)
    assert idcard.validate(n) == n
    assert idcard.birth_date(n) == dt.date(1990, 2, 28)
    assert idcard.mask(n) == "*" * 14 + n[-4:]
    assert len(idcard.mask(n)) == 18


def test_encryption_is_randomized_and_reversible():
    a, b = crypto.encrypt("11010519491231002X"), crypto.encrypt("11010519491231002X")
    assert a != b and "11010519491231002X" not in a
    assert crypto.decrypt(a) == "11010519491231002X"
    assert crypto.lookup_hash("x") == crypto.lookup_hash("x") != crypto.lookup_hash("y")


def test_member_id_stored_encrypted(tree):
    m = Member.objects.get(pk=tree["ma"].pk)
    assert m.id_number_enc.startswith("v2:sm4gcm:")
    assert idcard.validate(m.id_number) == m.id_number
    assert Member.objects.by_id_number(m.id_number).get() == m


def test_subtree_query(tree):
    sub = set(Organization.objects.subtree(tree["a"]).values_list("code", flat=True))
    assert sub == {"CZ", "CZ01"}
    assert tree["a1"].path.startswith(tree["a"].path) and tree["a1"].depth == 3


def test_visible_to_scopes(personas, tree):
    ua, ub = personas["unit_admin_a"], personas["unit_admin_b"]
    assert set(Member.objects.visible_to(ua)) == {tree["ma"]}
    assert set(Member.objects.visible_to(ub)) == {tree["mb"]}
    assert set(Member.objects.visible_to(personas["member_a"])) == {tree["ma"]}
    assert Member.objects.visible_to(personas["wc_admin"]).count() == 2
