from .faces.cli import command_line

raise SystemExit(command_line())
