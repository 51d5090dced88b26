"""Logins, lockout by username and address, tokens, roles: each leaves an audit entry, and the
staff's screens for roles and lockouts work for the staff only."""
import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from dangjian.accounts import services
from dangjian.accounts.models import LoginLock, RoleAssignment, User
from dangjian.core.models import AuditEntry
from tests import factories
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"


def client_at(address: str, **headers) -> Client:
    return Client(REMOTE_ADDR=address, **headers)


def attempt(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# ---- audit of logins --------------------------------------------------------------------------

def test_login_failed_login_and_logout_are_recorded(personas):
    c = client_at("10.0.0.7")
    attempt(c, "unita", "wrong-secret-1")
    failed = AuditEntry.objects.get(action="login_failed")
    assert failed.actor_username == "unita" and failed.changes == {"username": "unita", "address": "10.0.0.7"}
    assert "wrong-secret-1" not in str(failed.changes) + failed.note
    attempt(client_at("10.0.0.8"), "nosuchuser", "x" * 12)  # unknown names are recorded too
    assert AuditEntry.objects.filter(action="login_failed", actor_username="nosuchuser").exists()

    assert attempt(c, "unita", PASSWORD).status_code == 302
    login = AuditEntry.objects.get(action="login")
    assert login.user == personas["unit_admin_a"] and login.changes["address"] == "10.0.0.7"
    c.post(reverse("accounts:logout"))
    assert AuditEntry.objects.get(action="logout").user == personas["unit_admin_a"]


def test_tokens_issued_and_reset_are_recorded(personas):
    code, out, _ = factories.cli("token", "unita")
    assert code == 0
    issued = AuditEntry.objects.filter(action="token").order_by("id")
    assert [e.changes["change"] for e in issued] == ["issued"] and out.strip() not in str(issued[0].changes)
    factories.cli("token", "unita")  # shown again: nothing new
    assert AuditEntry.objects.filter(action="token").count() == 1
    factories.cli("token", "unita", "--reset")
    assert [e.changes["change"] for e in AuditEntry.objects.filter(action="token").order_by("id")] == [
        "issued", "voided", "issued"]


# ---- lockout ------------------------------------------------------------------------------------

def test_guessing_from_one_address_never_locks_the_account_elsewhere(personas):
    attacker, admin = client_at("203.0.113.9"), client_at("10.1.1.1")
    for _ in range(settings.LOGIN_MAX_FAILURES + 3):
        attempt(attacker, "wcadmin", "guess-guess-1")
    r = attempt(attacker, "wcadmin", PASSWORD)
    assert not logged_in(attacker) and "账号已锁定" in r.content.decode()
    assert attempt(admin, "wcadmin", PASSWORD).status_code == 302 and logged_in(admin)
    lockout = AuditEntry.objects.get(action="lockout")
    assert lockout.changes == {"username": "wcadmin", "address": "203.0.113.9"}


def test_an_address_guessing_many_usernames_is_locked(personas, tree):
    names = [factories.user(username=f"spray{i}").username for i in range(settings.LOGIN_ADDRESS_MAX_FAILURES)]
    attacker = client_at("198.51.100.4")
    for name in names:
        attempt(attacker, name, "guess-guess-1")
    # Every name failed once only, yet the address is now refused, even with a right password.
    r = attempt(attacker, "unitb", PASSWORD)
    assert not logged_in(attacker) and "本机地址已锁定" in r.content.decode()
    assert LoginLock.objects.get(username="", address="198.51.100.4").locked_until is not None
    assert attempt(client_at("10.1.1.2"), "unitb", PASSWORD).status_code == 302


def test_guessing_one_username_from_many_addresses_locks_it_everywhere(personas, settings):
    settings.LOGIN_USER_MAX_FAILURES = 12
    for i in range(12):
        attempt(client_at(f"192.0.2.{i + 1}"), "unita", "guess-guess-1")
    lock = services.active_lock("unita", "10.9.9.9")
    assert lock is not None and lock.username == "unita" and lock.address == ""
    assert not logged_in(c := client_at("10.9.9.9")) and attempt(c, "unita", PASSWORD).status_code == 200


def test_forwarded_for_counts_only_behind_a_trusted_proxy(personas, settings):
    spoofed = {"HTTP_X_FORWARDED_FOR": "1.2.3.4"}
    attempt(client_at("10.0.0.1", **spoofed), "unita", "guess-guess-1")
    assert AuditEntry.objects.get(action="login_failed").changes["address"] == "10.0.0.1"
    settings.LOGIN_TRUST_X_FORWARDED_FOR = True
    attempt(client_at("10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4"), "unita", "guess-guess-1")
    assert AuditEntry.objects.filter(action="login_failed").latest("id").changes["address"] == "1.2.3.4"


def test_staff_see_and_lift_lockouts(personas):
    attacker = client_at("203.0.113.10")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        attempt(attacker, "unita", "guess-guess-1")
    lock = LoginLock.objects.get(username="unita", address="203.0.113.10")
    staff = factories.login(personas["wc_admin"])
    page = staff.get(reverse("accounts:lockouts")).content.decode()
    assert "unita" in page and "203.0.113.10" in page
    for who in ("unit_admin_a", "secretary_a1", "member_a", "leader"):
        other = factories.login(personas[who])
        assert other.get(reverse("accounts:lockouts")).status_code == 404
        assert other.post(reverse("accounts:lockouts"), {"lock": lock.pk}).status_code == 404
    assert services.active_lock("unita", "203.0.113.10") is not None
    staff.post(reverse("accounts:lockouts"), {"lock": lock.pk})
    assert services.active_lock("unita", "203.0.113.10") is None
    entry = AuditEntry.objects.get(action="unlock")
    assert entry.user == personas["wc_admin"] and entry.changes["username"] == "unita"
    assert attempt(attacker, "unita", PASSWORD).status_code == 302
    assert f'data-lock="{lock.pk}"' not in staff.get(reverse("accounts:lockouts")).content.decode()


# ---- password policy ------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["pwtest12", "liming2026x", "mema-2026-ok"])
def test_weak_passwords_are_refused(tree, password):
    user = factories.user(username="mema", member=tree["ma"])  # 李明
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in refused.value.messages)


def test_password_change_refuses_pwtest12(personas):
    c = factories.login(personas["unit_admin_a"])
    r = c.post(reverse("accounts:password-change"),
               {"old_password": PASSWORD, "new_password1": "pwtest12", "new_password2": "pwtest12"})
    assert r.status_code == 200 and "至少要包含 10 个字符" in r.content.decode()
    assert User.objects.get(username="unita").check_password(PASSWORD)
    r = c.post(reverse("accounts:password-change"),
               {"old_password": PASSWORD, "new_password1": "Zhibu#Shuji2026", "new_password2": "Zhibu#Shuji2026"})
    assert r.status_code == 302 and User.objects.get(username="unita").check_password("Zhibu#Shuji2026")


# ---- roles ---------------------------------------------------------------------------------------

def test_staff_grant_and_revoke_roles_on_the_screen(personas, tree):
    newcomer = factories.user(username="newclerk", last_name="周", first_name="敏")
    staff = factories.login(personas["wc_admin"])
    page = staff.get(reverse("accounts:roles"), {"q": "周敏"}).content.decode()
    assert "newclerk" in page and "unita" not in page
    r = staff.post(reverse("accounts:grant"), {"username": "newclerk", "role": "unit_admin", "org": tree["a"].pk})
    assert r.status_code == 302
    assignment = RoleAssignment.objects.get(user=newcomer)
    assert (assignment.role, assignment.org) == ("unit_admin", tree["a"])
    granted = AuditEntry.objects.get(action="grant")
    assert granted.user == personas["wc_admin"] and granted.changes == {
        "username": "newclerk", "role": "unit_admin", "org": tree["a"].code}
    assert "单位党务管理员（市财政局机关党委）" in staff.get(reverse("accounts:roles"), {"q": "newclerk"}).content.decode()

    staff.post(reverse("accounts:revoke"), {"assignment": assignment.pk})
    assert not RoleAssignment.objects.filter(user=newcomer).exists()
    assert AuditEntry.objects.get(action="revoke").changes["role"] == "unit_admin"


def test_role_pages_answer_404_to_everyone_but_staff(personas, tree):
    assignment = RoleAssignment.objects.get(user=personas["secretary_a1"])
    for who in ("unit_admin_a", "secretary_a1", "member_a", "leader"):
        c = factories.login(personas[who])
        assert c.get(reverse("accounts:roles")).status_code == 404
        assert c.get(reverse("accounts:grant")).status_code == 404
        r = c.post(reverse("accounts:grant"), {"username": who, "role": "wc_admin", "org": tree["wc"].pk})
        assert r.status_code == 404
        assert c.post(reverse("accounts:revoke"), {"assignment": assignment.pk}).status_code == 404
    assert not RoleAssignment.objects.filter(role="wc_admin").exclude(user=personas["wc_admin"]).exists()
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert not AuditEntry.objects.filter(action__in=["grant", "revoke"]).exists()


def test_only_staff_may_grant_a_staff_role(personas, tree):
    # A 工委管理员 given on a department is not staff: it cannot make itself (or anyone) staff.
    dept_admin = factories.user("wc_admin", tree["a"], username="wcdept")
    with pytest.raises(services.RoleRefused):
        services.grant_role(dept_admin, dept_admin, "wc_admin", tree["wc"])
    services.grant_role(personas["wc_admin"], dept_admin, "wc_admin", tree["wc"])
    assert RoleAssignment.objects.filter(user=dept_admin, org=tree["wc"]).exists()


def test_the_menu_offers_the_account_pages_to_staff_only(personas):
    assert reverse("accounts:roles") in factories.login(personas["wc_admin"]).get("/").content.decode()
    assert reverse("accounts:roles") not in factories.login(personas["unit_admin_a"]).get("/").content.decode()


def test_counts_past_their_window_are_forgotten(personas):
    import datetime as dt

    from django.utils import timezone

    long_ago = timezone.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    for i in range(30):
        services.record_failure("unita", f"192.0.2.{i + 1}", now=long_ago)
    assert LoginLock.objects.count() > 30
    attempt(client_at("10.3.3.3"), "unitb", "guess-guess-1")
    # Only the new failure's own counts remain (its address, and the name from it and everywhere).
    assert set(LoginLock.objects.values_list("username", "address")) == {
        ("", "10.3.3.3"), ("unitb", "10.3.3.3"), ("unitb", "")}
