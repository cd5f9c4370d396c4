"""The pure core: parsing, normalizing, rendering, the dedupe decision and the other rules.

Nothing here touches the disk, the network, a database or the clock; the
import contract in pyproject.toml keeps it so. Internal: not a library API.
"""
