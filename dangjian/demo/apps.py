from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "dangjian.demo"
    label = "demo"
    verbose_name = "示例数据"
