from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "dangjian.orgs"
    label = "orgs"
    verbose_name = "组织"

    def ready(self):
        from .departments import touch_orgs
        from .signals import tree_changed

        # An org's set-up changed: its department's cached figures are recomputed.
        tree_changed.connect(lambda sender, org_ids, **kw: touch_orgs(org_ids), weak=False,
                             dispatch_uid="orgs_alerts_stale")
