"""A record's attachments, served only through the record's scoping: the files live under a
storage folder that no URL maps, so the only way to a file is this view, which answers 404
for a record the user may not see (or a removed file)."""
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit

from .. import services
from ..models import Activity, Attachment


def _attachment_or_404(user, pk, capability: str = "view") -> Attachment:
    records = Activity.objects.visible_to(user, capability)
    if capability != "view":
        records = records.filter(status=Activity.Status.ACTIVE)
    qs = Attachment.objects.filter(is_active=True, activity__in=records.values("pk"))
    return get_object_or_404(qs, pk=pk)


@require_GET
def download(request, pk):
    att = _attachment_or_404(request.user, pk)
    try:
        fh = att.file.open("rb")
    except FileNotFoundError:
        raise Http404("附件文件已不存在，请联系管理员") from None
    # Always a download, never rendered inline: an uploaded file must not run as a page of
    # this site.
    audit.record_export(request.user, "attachment", f"附件“{att.name}”", 1,
                        {"activity": att.activity_id, "attachment": att.pk})
    response = FileResponse(fh, as_attachment=True, filename=att.name, content_type=att.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def remove(request, pk):
    att = _attachment_or_404(request.user, pk, "edit")
    try:
        services.remove_attachment(request.user, att)
    except services.ActivityError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"附件“{att.name}”已删除；变更记录中保留了上传和删除的经过。")
    return redirect("activities:detail", att.activity_id)
