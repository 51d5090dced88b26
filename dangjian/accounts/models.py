from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A login. Linked to the member it belongs to, if any; what it may see comes from
    its role assignments (core.scoping)."""

    member = models.OneToOneField(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="user", verbose_name="党员"
    )


class Role(models.TextChoices):
    WC_ADMIN = "wc_admin", "工委管理员"
    UNIT_ADMIN = "unit_admin", "单位党务管理员"
    BRANCH_SECRETARY = "branch_secretary", "支部书记/委员"
    MEMBER = "member", "党员"
    INSPECTOR = "inspector", "督查考核员"
    LEADER = "leader", "领导(只读)"


class RoleAssignment(models.Model):
    """(user, role, org subtree): the only source of a user's scope."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField("角色", max_length=24, choices=Role.choices)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, verbose_name="范围（含下级）")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role", "org"], name="unique_role_assignment")]


class LoginLock(models.Model):
    """Failed logins counted for one of three keys, and the lock they led to:
    - a username from one client address (`username` and `address`): the usual lock, which keeps
      that address from guessing the password while the person logs in from elsewhere;
    - a client address (`username` empty): guesses spread over many usernames;
    - a username from every address (`address` empty): guesses spread over many addresses.
    Why these and their limits: docs/security.md."""

    username = models.CharField("用户名", max_length=150, blank=True)
    address = models.CharField("地址", max_length=45, blank=True)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()  # failures older than the window are forgotten
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["username", "address"], name="unique_login_lock")]
        indexes = [models.Index(fields=["locked_until"])]

    @property
    def scope_label(self) -> str:
        if self.username and self.address:
            return f"用户名“{self.username}”在地址 {self.address}"
        if self.address:
            return f"地址 {self.address}（所有用户名）"
        return f"用户名“{self.username}”（所有地址）"
