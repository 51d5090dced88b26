from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """述职评议 (DutyReview): duty reports, review votes, copy detection, comments to rectify."""

    name = "dangjian.reviews"
    label = "reviews"
    verbose_name = "述职评议"

    def ready(self):
        # Registers the `review_votes` metric with the assessment registry.
        from . import metrics  # noqa: F401
