"""ingest: turn RSS, Atom and JSON feeds into Markdown files with YAML front matter."""

__version__ = "0.1.0"
