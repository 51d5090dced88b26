from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A login. Linked to the member it belongs to, if any; what it may see comes from
    its role assignments (core.scoping)."""

    member = models.OneToOneField(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="user", verbose_name="党员"
    )
    failed_logins = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)


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
