"""The use cases: a run, a rebuild, the filters and retention, discovery, OPML import.

They join the pure core to the shell. Internal: not a library API.
"""
