"""The one API router, mounted at /api/. Viewsets live in each app's api.py."""
from rest_framework.routers import DefaultRouter

from dangjian.activities.api import ActivityViewSet, ComplianceViewSet
from dangjian.commendations.api import DecisionViewSet
from dangjian.development.api import ApplicantViewSet
from dangjian.dues.api import BaseViewSet, MemberDuesViewSet, PaymentViewSet
from dangjian.feedback.api import FeedbackViewSet, VisitViewSet
from dangjian.inspections.api import InspectionViewSet
from dangjian.members.api import MemberViewSet
from dangjian.orgs.api import OrgViewSet
from dangjian.rectification.api import ItemViewSet
from dangjian.transfers.api import StandingViewSet, TransferViewSet

router = DefaultRouter()
router.register("orgs", OrgViewSet, basename="org")
router.register("members", MemberViewSet, basename="member")
router.register("activities", ActivityViewSet, basename="activity")
router.register("compliance", ComplianceViewSet, basename="compliance")
router.register("commendations", DecisionViewSet, basename="commendation")
router.register("visits", VisitViewSet, basename="visit")
router.register("feedback", FeedbackViewSet, basename="feedback")
router.register("inspections", InspectionViewSet, basename="inspection")
router.register("items", ItemViewSet, basename="item")
router.register("dues/bases", BaseViewSet, basename="dues-base")
router.register("dues/payments", PaymentViewSet, basename="dues-payment")
router.register("dues/members", MemberDuesViewSet, basename="dues-member")
router.register("applicants", ApplicantViewSet, basename="applicant")
router.register("transfers", TransferViewSet, basename="transfer")
router.register("standing", StandingViewSet, basename="standing")
