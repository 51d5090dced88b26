from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Excel import and export of the roster (orgs and members): the web pages and the
    background jobs. Row parsing and checking live with each record's app (orgs/io.py,
    members/io.py)."""

    name = "dangjian.exchange"
    label = "exchange"
    verbose_name = "数据导入导出"
