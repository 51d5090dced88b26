import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is slow on purpose; the suite creates hundreds of users. Tests check logins and
    lockouts, not the hasher's cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def tree(db):
    """A small city: 工委 → two departments' 机关党委 → branches, with members."""
    wc = factories.org(kind="working_committee", name="示例市直机关工委", code="WC")
    a = factories.org(wc, kind="organ_committee", name="市财政局机关党委", code="CZ")
    b = factories.org(wc, kind="organ_committee", name="市教育局机关党委", code="JY")
    a1 = factories.org(a, kind="branch", name="财政局第一党支部", code="CZ01")
    b1 = factories.org(b, kind="branch", name="教育局第一党支部", code="JY01")
    ma = factories.member(a1, name="李明")
    mb = factories.member(b1, name="王芳", gender="female")
    return {"wc": wc, "a": a, "b": b, "a1": a1, "b1": b1, "ma": ma, "mb": mb}


@pytest.fixture
def personas(tree):
    """One user per role, each scoped to a part of the tree."""
    return {
        "wc_admin": factories.user("wc_admin", tree["wc"], username="wcadmin"),
        "unit_admin_a": factories.user("unit_admin", tree["a"], username="unita"),
        "unit_admin_b": factories.user("unit_admin", tree["b"], username="unitb"),
        "secretary_a1": factories.user("branch_secretary", tree["a1"], username="seca1"),
        "member_a": factories.user("member", tree["a1"], member=tree["ma"], username="mema"),
        "leader": factories.user("leader", tree["wc"], username="leader"),
    }
