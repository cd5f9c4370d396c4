"""The deployment examples must stay in step with the command line they call."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from ingest.cli import build_parser
from ingest.crontab import cron_trigger

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_systemd_unit_runs_the_daemon_as_a_dedicated_user_and_restarts_it() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(EXAMPLES / "ingest.service")
    service = unit["Service"]

    command = shlex.split(service["ExecStart"])
    args = build_parser().parse_args(command[1:])

    assert command[0].endswith("/ingest")
    assert args.command == "daemon" and args.listen == ("127.0.0.1", 9108)
    assert service["User"] not in ("", "root")
    assert service["Restart"] == "on-failure" and service["RestartPreventExitStatus"] == "2"
    assert "-HUP" in service["ExecReload"]
    # systemd must wait longer than the daemon's grace period before killing it
    assert int(service["TimeoutStopSec"].rstrip("s")) > args.grace


def test_crontab_line_runs_ingest_run() -> None:
    lines = [l for l in (EXAMPLES / "crontab").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(maxsplit=5)
    cron_trigger(" ".join(fields[:5]))  # a valid schedule
    command = shlex.split(fields[5].split(">>")[0])

    args = build_parser().parse_args(command[1:])

    assert command[0].endswith("/ingest") and args.command == "run"
