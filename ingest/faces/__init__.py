"""What people see: the command line, the daemon, logs and metrics, ``--json``.

Internal: the command line and the ``--json`` records are the interface.
"""
