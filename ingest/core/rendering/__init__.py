"""Rendering: an ``Article`` as a Markdown file with front matter, as a site-builder profile says."""
