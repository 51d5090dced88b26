from django.apps import AppConfig


class TransfersConfig(AppConfig):
    """组织关系转接 and the member's standing: letters inside and outside the platform, bulk moves,
    流动党员, 失联, 停止党籍 and 恢复党籍, 去世 and 出党."""

    name = "dangjian.transfers"
    label = "transfers"
    verbose_name = "组织关系转接"

    def ready(self):
        from . import panels  # noqa: F401 (puts the transfers and standing panel on the member page)
