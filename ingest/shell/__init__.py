"""The shell: HTTP, the store, files on disk, worker processes and hooks.

Internal: used by the use cases in ``ingest.app``, never by the faces.
"""
