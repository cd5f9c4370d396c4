"""Scheduling: when to ask a feed again (politeness, cadence, crontab) and which feed is due next."""
