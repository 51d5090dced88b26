"""Existing entries get the actor's name kept on them and are linked into the hash chain, in id
order, a page at a time (as `dangjian audit-verify` reads them)."""
from django.conf import settings
from django.db import migrations

from dangjian.core.audit import GENESIS, link_hash
from dangjian.core.people import full_name

PAGE = 2000


def forwards(apps, schema_editor):
    Entry = apps.get_model("core", "AuditEntry")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    db = schema_editor.connection.alias
    names = {}
    users = User.objects.using(db).select_related("member").only("username", "first_name", "last_name", "member__name")
    for u in users.iterator():
        member = u.member
        names[u.pk] = (u.username, (member.name if member is not None else "")
                       or full_name(u.first_name, u.last_name) or u.username)
    last, last_id = GENESIS, 0
    while True:
        page = list(Entry.objects.using(db).filter(id__gt=last_id).order_by("id")[:PAGE])
        if not page:
            break
        for e in page:
            if e.user_id in names and not e.actor_username:
                e.actor_username, e.actor_name = names[e.user_id]
            e.prev_hash = last
            e.hash = last = link_hash(last, {
                "table": e.table, "object_id": e.object_id, "action": e.action, "changes": e.changes,
                "actor_username": e.actor_username, "actor_name": e.actor_name, "at": e.at, "note": e.note})
        # The historical model has no guard: this is the one place entries are written twice.
        Entry.objects.using(db).bulk_update(page, ["actor_username", "actor_name", "prev_hash", "hash"])
        last_id = page[-1].id


class Migration(migrations.Migration):
    dependencies = [("core", "0007_audit_chain"), ("accounts", "0002_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
