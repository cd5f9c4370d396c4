"""The pure core, one sub-package per stage of the pipeline.

reading (bytes into feed entries) -> content (an entry into an Article) ->
deciding (what becomes of each entry and file, as intents) -> rendering
(the Markdown file); scheduling (when to poll) and config (what feeds.yaml
says) serve them all, and ``records`` holds the values passed between stages.

Nothing here touches the disk, the network, a database or the clock;
tests/test_layout.py keeps it so. Internal: not a library API.
"""
