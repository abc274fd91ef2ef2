"""The portal's pages, one module per area: orgs (sign-up, home, members, billing),
campaigns, adgroups (with the audience estimate), ads (creative upload, review status),
audiences (custom audiences, lookalikes) and reports (charts and CSV)."""
