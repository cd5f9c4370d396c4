"""ingest: turn RSS and Atom feeds into Markdown files with YAML front matter."""

__version__ = "0.1.0"
