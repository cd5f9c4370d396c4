"""Deciding: what becomes of each entry and each file, as intents (edits, filters, retention)."""
