"""Reporting: what is said about the feeds (the status report) and to the site (the webhook body)."""
