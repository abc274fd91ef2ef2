"""The ads app's use cases, one module per area: orgs (sign-up, members, what each role may
do), campaigns (campaigns, ad groups, ads with their validation), landing (landing-page
checks), audiences (custom audiences, lookalikes, the audience estimate), review (automated
checks and the ad-ops decisions) and funding (top-ups of the prepaid balance)."""
