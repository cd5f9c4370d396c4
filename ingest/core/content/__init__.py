"""Content: one entry into an ``Article`` (fields, sanitized HTML, identity, excerpts, images found)."""
