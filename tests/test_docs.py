"""The documentation is generated from the code where it can be, so it cannot drift from it."""

from __future__ import annotations

import dataclasses
import os
import importlib.util
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from ingest.core.config import model as config_mod
from ingest.faces.cli import COMMAND_DOCS, HELP_WIDTH

ROOT = Path(__file__).resolve().parent.parent


def _hook():
    """The MkDocs hook that writes the config and CLI references (docs/hooks/reference.py)."""
    spec = importlib.util.spec_from_file_location("docs_reference_hook", ROOT / "docs" / "hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _records(cls: type, seen: set[type] | None = None) -> set[type]:
    """cls and every dataclass its fields are read into (Config -> FeedConfig -> TagRule, Adaptive, ...)."""
    seen = set() if seen is None else seen
    seen.add(cls)
    for hint in typing.get_type_hints(cls).values():
        for candidate in (hint, *typing.get_args(hint)):
            if dataclasses.is_dataclass(candidate) and candidate not in seen:
                _records(candidate, seen)
    return seen


def test_every_config_field_has_a_description() -> None:
    undocumented = [
        f"{cls.__name__}.{f.name}"
        for cls in _records(config_mod.Config)
        for f in dataclasses.fields(cls)
        if not f.metadata.get("internal") and not str(f.metadata.get("doc", "")).strip()
    ]

    assert undocumented == [], "describe these fields: field(metadata={'doc': ...}); see docs/contributing.md"


def test_the_config_reference_lists_every_key_the_config_file_accepts() -> None:
    hook = _hook()
    feed_keys = {key for key, _f, _hint in hook.config_rows(config_mod.FeedConfig) if "." not in key}
    top = {key.split(".")[0] for key, _f, _hint in hook.config_rows(config_mod.Config)}
    output_keys = {key.split(".")[1] for key, _f, _hint in hook.config_rows(config_mod.Config) if key.startswith("output.")}

    assert feed_keys == config_mod.FEED_KEYS
    assert top | {"defaults"} == config_mod.TOP_KEYS
    assert output_keys == config_mod.OUTPUT_KEYS


def test_the_config_reference_shows_the_defaults_a_parsed_config_gets(tmp_path) -> None:
    from ingest.core.config.schema import parse

    hook = _hook()
    table = hook.config_table(config_mod.FeedConfig, "reference")
    feed = parse("feeds:\n  - url: https://example.org/feed\n", tmp_path / "feeds.yaml").feeds[0]

    for key, value in (("interval", feed.interval), ("timeout", feed.timeout), ("deadline", feed.deadline)):
        shown = config_mod.format_duration(value)
        assert f"| `{key}` | duration | `{shown}` |" in table
        assert config_mod.parse_duration(shown) == value
    for key, value in (("max_size", feed.max_size), ("image_max_size", feed.image_max_size)):
        shown = config_mod.format_size(value)
        assert f"| `{key}` | size | `{shown}` |" in table
        assert config_mod.parse_size(shown) == value
    assert f"| `max_redirects` | integer | `{feed.max_redirects}` |" in table
    assert f"| `edits` | one of `keep`, `merge`, `overwrite` | `{feed.edits}` |" in table


def _help(*command: str, columns: int) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ingest", *command, "--help"],
        capture_output=True, text=True, env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", list(COMMAND_DOCS))
def test_every_help_fits_100_columns_and_names_its_docs_page(command: str) -> None:
    for columns in (80, 300):
        text = _help(*command.split(), columns=columns)
        too_long = [line for line in text.splitlines() if len(line) > min(columns, HELP_WIDTH)]

        assert too_long == []
        page = COMMAND_DOCS[command]
        assert page in " ".join(text.split())  # however the line was wrapped
        assert (ROOT / page).is_file()


def test_the_cli_reference_shows_every_command_help() -> None:
    reference = _hook().cli_reference("reference")

    for command in COMMAND_DOCS:
        assert f"$ {f'ingest {command}'.strip()} --help\nusage: ingest" in reference
    assert "--older-than DURATION" in reference and "--lease DURATION" in reference


def test_every_json_key_has_a_description_and_the_reference_lists_it() -> None:
    import json

    hook = _hook()
    schema = json.loads(hook.SCHEMA.read_text(encoding="utf-8"))
    undocumented = [
        f"{name}.{key}"
        for name, definition in schema["$defs"].items()
        for key, spec in definition.get("properties", {}).items()
        if not spec.get("description") and "$ref" not in spec
    ]
    reference = hook.json_reference()

    assert undocumented == [], "give these keys a \"description\" in ingest/schema/output.schema.json"
    assert "### `run`: feed objects" in reference and "| `images_failed` | list of string |" in reference


def test_the_metrics_reference_lists_every_metric_the_daemon_serves() -> None:
    from ingest.faces.observe import Metrics

    reference = _hook().metrics_reference()
    names = [family.name for family in Metrics().registry.collect()]

    assert names and all(f"| `{name}" in reference for name in names)
    assert "| `ingest_node_lease_takeovers_total` | counter |" in reference


def test_the_profiles_reference_lists_every_profile_and_its_keys() -> None:
    from ingest.core.rendering.profiles import PROFILES

    reference = _hook().profiles_reference()

    for name, profile in PROFILES.items():
        row = next(line for line in reference.splitlines() if line.startswith(f"| `{name}`"))
        keys = [f.key for f in profile.fields if f.kind != "blank"]
        assert [k for k in keys if f"`{k}" in row] == keys


def test_the_build_replaces_each_marker_and_its_note_for_readers_of_the_markdown() -> None:
    from types import SimpleNamespace

    page = SimpleNamespace(file=SimpleNamespace(src_uri="reference/metrics.md"))
    text = (ROOT / "docs" / "reference" / "metrics.md").read_text(encoding="utf-8")

    built = _hook().on_page_markdown(text, page, None, None)

    assert "> Generated from the code" in text and "> Generated from the code" not in built
    assert "<!-- generated:" not in built and "| `ingest_polls_total` | counter |" in built


def test_the_site_builds_strictly(tmp_path) -> None:
    """What .ci/run checks, here too for whoever has the docs extra: no broken link, anchor or missing page."""
    pytest.importorskip("mkdocs", reason="pip install -e '.[docs]' to build the documentation")
    pytest.importorskip("material", reason="pip install -e '.[docs]' to build the documentation")

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "config.html").is_file()


def test_the_exit_codes_page_lists_every_exit_code_the_program_has() -> None:
    import re

    from ingest.faces import common

    enum = getattr(common, "ExitCode", None)
    codes = {int(c) for c in enum} if enum is not None else (
        {getattr(common, name) for name in dir(common) if name.startswith("EXIT_")} | {130}  # Ctrl-C, as a shell reports it
    )
    page = (ROOT / "docs" / "reference" / "exit-codes.md").read_text(encoding="utf-8")
    table = {int(code) for code in re.findall(r"^\| `(\d+)` \|", page, re.MULTILINE)}

    assert table == codes
