from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from dangjian.core.scoping import committee_staff_only
from dangjian.core.views import paginate
from dangjian.orgs.models import Organization

from . import queries, services
from .forms import ChangePasswordForm, GrantRoleForm, LoginForm
from .models import Role, RoleAssignment


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = ChangePasswordForm
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        messages.success(self.request, "密码已修改。")
        return super().form_valid(form)


# ---- the working committee's account pages ------------------------------------------------------

@committee_staff_only
def roles(request):
    """Every account with its roles, searched and paged; a role is revoked from here."""
    q = request.GET.get("q", "").strip()[:50]
    page_obj, qs_base = paginate(request, queries.accounts(q))
    return render(request, "accounts/roles.html", {"page_obj": page_obj, "qs_base": qs_base, "q": q})


@committee_staff_only
def grant(request):
    orgs = Organization.objects.visible_to(request.user, "manage")
    form = GrantRoleForm(request.POST or None, orgs=orgs, initial={"username": request.GET.get("user", "")[:150]})
    if request.method == "POST" and form.is_valid():
        try:
            services.grant_role(request.user, form.user, form.cleaned_data["role"], form.cleaned_data["org"])
        except services.RoleRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已授予“{form.user.username}”{Role(form.cleaned_data['role']).label}"
                                      f"（{form.cleaned_data['org'].name}）。")
            return redirect(f"{reverse('accounts:roles')}?q={form.user.username}")
    return render(request, "accounts/grant.html", {"form": form})


@committee_staff_only
@require_POST
def revoke(request):
    assignment = get_object_or_404(RoleAssignment.objects.select_related("user", "org"),
                                   pk=_int(request.POST.get("assignment")))
    try:
        services.revoke_role(request.user, assignment)
    except services.RoleRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已撤销“{assignment.user.username}”的{assignment.get_role_display()}"
                                  f"（{assignment.org.name}）。")
    return redirect(f"{reverse('accounts:roles')}?q={assignment.user.username}")


@committee_staff_only
def lockouts(request):
    """The logins locked now; staff lift one when the person is known to be who they say."""
    if request.method == "POST":
        lock = get_object_or_404(services.current_locks(), pk=_int(request.POST.get("lock")))
        services.unlock(request.user, lock)
        messages.success(request, f"已解除锁定：{lock.scope_label}。")
        return redirect("accounts:lockouts")
    return render(request, "accounts/lockouts.html", {"locks": list(services.current_locks())})


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None
