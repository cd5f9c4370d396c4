"""The deployment examples must stay in step with the command line they call."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from ingest.faces.cli import build_parser
from ingest.core.scheduling.crontab import cron_trigger

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


def test_the_offline_example_writes_real_files_without_a_network(tmp_path) -> None:
    """The README's first command: two bundled feeds read through relative file: URLs, from any directory."""
    import shutil

    from conftest import run_cli

    example = tmp_path / "offline"
    shutil.copytree(EXAMPLES / "offline", example, ignore=shutil.ignore_patterns("posts", "state"))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()

    first = run_cli("--config", example / "feeds.yaml", "run", cwd=elsewhere)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 feeds: 2 ok, 0 failed; wrote 4 new" in first.stdout
    posts = sorted(p.name for p in (example / "posts").iterdir())
    assert posts == [
        "ferry-timetable-changes-for-the-winter-season.md",
        "lighthouse-opens-its-doors-for-one-weekend.md",
        "ridge-path-reopened-after-the-landslide.md",
        "winter-gear-checklist.md",
    ]
    ferry = (example / "posts" / posts[0]).read_text(encoding="utf-8")
    assert "source: 'file:feeds/harbour-gazette.xml'" in ferry  # as written, not this machine's path
    again = run_cli("--config", example / "feeds.yaml", "run", cwd=elsewhere)
    assert again.returncode == 0 and "wrote 0 new and 0 updated" in again.stdout


def test_the_readme_shows_the_offline_run_and_a_file_it_really_writes(tmp_path) -> None:
    import re
    import shutil

    from conftest import run_cli

    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    quickstart = readme[readme.index("## Quickstart"):readme.index("### A Hugo site")]
    assert ".venv/bin/ingest --config examples/offline/feeds.yaml run" in quickstart
    shown = re.search(r"<!-- offline-example.*?-->\n```markdown\n(.*?)```\n", quickstart, re.DOTALL)
    assert shown, "the README's quickstart shows a produced file"
    example = tmp_path / "examples" / "offline"
    shutil.copytree(EXAMPLES / "offline", example, ignore=shutil.ignore_patterns("posts", "state"))

    result = run_cli("--config", "examples/offline/feeds.yaml", "run", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] in quickstart  # the summary line, as shown
    written = (example / "posts" / "ferry-timetable-changes-for-the-winter-season.md").read_text(encoding="utf-8")
    assert shown.group(1) == written


def test_the_readme_contents_list_every_section_and_every_link_leads_to_one() -> None:
    import re

    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    headings = [line[3:] for line in readme.splitlines() if line.startswith("## ") and line != "## Contents"]
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    contents = readme[readme.index("## Contents"):].split("\n## ", 1)[0]
    links = re.findall(r"\]\(#([^)]+)\)", contents)

    assert sorted(links) == sorted(anchors)
    every_heading = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in readme.splitlines() if re.match(r"#{1,4} ", line)
    }
    broken = [link for link in re.findall(r"\]\(#([^)]+)\)", readme) if link not in every_heading]
    assert broken == []  # every link within the README leads to a heading
