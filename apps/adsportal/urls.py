from django.urls import path

from apps.adsportal.views import adgroups, ads, audiences, campaigns, creators, orgs, reports

app_name = "adsportal"
urlpatterns = [
    path("", orgs.home, name="home"),
    path("signup", orgs.signup, name="signup"),
    path("o/<str:org_id>/", orgs.org, name="org"),
    path("o/<str:org_id>/members", orgs.members, name="members"),
    path("o/<str:org_id>/members/<str:member_id>", orgs.member_change, name="member-change"),
    path("o/<str:org_id>/billing", orgs.billing, name="billing"),
    path("o/<str:org_id>/campaigns/new", campaigns.campaign_new, name="campaign-new"),
    path("o/<str:org_id>/campaigns/<str:campaign_id>", campaigns.campaign, name="campaign"),
    path(
        "o/<str:org_id>/campaigns/<str:campaign_id>/edit",
        campaigns.campaign_edit,
        name="campaign-edit",
    ),
    path(
        "o/<str:org_id>/campaigns/<str:campaign_id>/status",
        campaigns.campaign_status,
        name="campaign-status",
    ),
    path(
        "o/<str:org_id>/campaigns/<str:campaign_id>/adgroups/new",
        adgroups.adgroup_new,
        name="adgroup-new",
    ),
    path("o/<str:org_id>/adgroups/<str:group_id>", adgroups.adgroup, name="adgroup"),
    path("o/<str:org_id>/adgroups/<str:group_id>/edit", adgroups.adgroup_edit, name="adgroup-edit"),
    path("o/<str:org_id>/adgroups/<str:group_id>/ads/new", ads.ad_new, name="ad-new"),
    path("o/<str:org_id>/ads/<str:ad_id>", ads.ad, name="ad"),
    path("o/<str:org_id>/ads/<str:ad_id>/edit", ads.ad_edit, name="ad-edit"),
    path("o/<str:org_id>/ads/<str:ad_id>/submit", ads.ad_resubmit, name="ad-submit"),
    path("o/<str:org_id>/estimate", adgroups.estimate, name="estimate"),
    path("o/<str:org_id>/audiences", audiences.audiences, name="audiences"),
    path("o/<str:org_id>/audiences/new", audiences.audience_new, name="audience-new"),
    path("o/<str:org_id>/lookalikes/new", audiences.lookalike_new, name="lookalike-new"),
    path("o/<str:org_id>/reports", reports.reports, name="reports"),
    path("o/<str:org_id>/reports.csv", reports.reports_csv, name="reports-csv"),
    path("o/<str:org_id>/creators", creators.creators, name="creators"),
    path(
        "o/<str:org_id>/creators/<str:creator_id>/shortlist",
        creators.shortlist_toggle,
        name="creator-shortlist",
    ),
    path("o/<str:org_id>/creators/<str:creator_id>/invite", creators.invite, name="creator-invite"),
    path("o/<str:org_id>/deals", creators.deal_list, name="deals"),
    path("o/<str:org_id>/deals/<str:deal_id>", creators.deal, name="deal"),
    path("o/<str:org_id>/deals/<str:deal_id>/<str:step>", creators.deal_step, name="deal-step"),
]
