"""The demo catalogue `manage.py seed_demo` creates (see `catalogue.build`)."""
