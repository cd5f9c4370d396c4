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
    lines = [line for line in (EXAMPLES / "crontab").read_text().splitlines() if line.strip() and not line.startswith("#")]
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


ROOT = EXAMPLES.parent
DOCS = ROOT / "docs"


def _section(text: str, name: str) -> str:
    """A snippet section (``--8<-- [start:name]`` ... ``[end:name]``) that the docs include."""
    start = text.index(f"--8<-- [start:{name}]")
    return text[text.index("\n", start) + 1:text.index(f"--8<-- [end:{name}]")]


def test_the_readme_shows_the_offline_run_and_first_run_a_file_it_really_writes(tmp_path) -> None:
    import re
    import shutil

    from conftest import run_cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = _section(readme, "offline-run")
    assert ".venv/bin/ingest --config examples/offline/feeds.yaml run" in quickstart
    first_run = (DOCS / "getting-started" / "first-run.md").read_text(encoding="utf-8")
    assert '--8<-- "README.md:offline-run"' in first_run  # the docs show the README's own block
    shown = re.search(r"<!-- offline-example.*?-->\n```markdown\n(.*?)```\n", first_run, re.DOTALL)
    assert shown, "the first-run page shows a produced file"
    example = tmp_path / "examples" / "offline"
    shutil.copytree(EXAMPLES / "offline", example, ignore=shutil.ignore_patterns("posts", "state"))

    result = run_cli("--config", "examples/offline/feeds.yaml", "run", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] in quickstart  # the summary line, as shown
    written = (example / "posts" / "ferry-timetable-changes-for-the-winter-season.md").read_text(encoding="utf-8")
    assert shown.group(1) == written


def _anchor(heading: str) -> str:
    """The id MkDocs (and GitHub) give a heading: lower case, punctuation dropped, spaces to dashes."""
    import re

    text = re.sub(r"`|\*\*", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _headings(page: Path) -> set[str]:
    import re

    lines = page.read_text(encoding="utf-8").splitlines()
    return {_anchor(line.lstrip("#")) for line in lines if re.match(r"#{1,6} ", line)}


def _links(page: Path) -> list[tuple[Path, str]]:
    """Relative links of a Markdown page, as (file, anchor); links to other sites are left out."""
    import re

    found = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        found.append(((page.parent / path).resolve() if path else page, anchor))
    return found


def test_the_readme_is_short_and_every_link_in_it_leads_to_a_page_and_heading() -> None:
    readme = ROOT / "README.md"

    assert len(readme.read_text(encoding="utf-8").splitlines()) <= 200
    links = _links(readme)
    assert links
    broken = [(str(path), anchor) for path, anchor in links
              if not path.exists() or (anchor and path.suffix == ".md" and anchor not in _headings(path))]
    assert broken == []


def test_every_docs_page_is_within_two_clicks_of_the_readme() -> None:
    pages = {page.resolve() for page in DOCS.rglob("*.md")}
    one_click = {path for path, _ in _links(ROOT / "README.md") if path in pages}
    two_clicks = one_click | {path for page in one_click for path, _ in _links(page) if path in pages}

    assert sorted(str(p.relative_to(DOCS)) for p in pages - two_clicks) == []
