"""Config: what ``feeds.yaml`` says, as values, read from its YAML text; feed names; OPML lists."""
