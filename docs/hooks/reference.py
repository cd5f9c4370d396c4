"""MkDocs hook: the configuration and command-line references, generated from the code at build time.

A page asks for a generated part with a marker line: ``<!-- generated: config-top -->``,
``<!-- generated: config-feed -->``, ``<!-- generated: cli -->`` or
``<!-- generated: json-output -->``, ``<!-- generated: metrics -->`` or
``<!-- generated: profiles -->``. The config tables come from the dataclass fields'
``metadata`` (``doc``, ``example``, ``units``, ``choices``, ``see``...) and their defaults,
the command line from ``ingest ... --help`` itself, the ``--json`` keys from the JSON
Schema the tests validate the output against, so none can say something the program
does not do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import posixpath
import re
import types
import typing
from pathlib import Path
from typing import Any

from ingest.core.config import model as config_mod
from ingest.faces import cli

MARKER = "<!-- generated: {} -->"
HELP_COLUMNS = 100


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    here = posixpath.dirname(page.file.src_uri)
    parts = {
        "config-top": lambda: config_table(config_mod.Config, here),
        "config-feed": lambda: config_table(config_mod.FeedConfig, here, first=("url", "name")),
        "cli": lambda: cli_reference(here),
        "json-output": json_reference,
        "metrics": metrics_reference,
        "profiles": profiles_reference,
    }
    for name, make in parts.items():
        # the marker, and the quoted note under it for whoever reads the Markdown file itself
        pattern = re.compile(re.escape(MARKER.format(name)) + r"\n(?:> .*\n)*")
        if pattern.search(markdown):
            markdown = pattern.sub(lambda _match: make() + "\n", markdown)
    return markdown


# --- configuration ----------------------------------------------------------

def config_rows(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field[Any], Any]]:
    """(YAML key, field, type) for every documented field of ``cls``, nested mappings as ``parent.child``."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        key = prefix + f.metadata.get("yaml", f.name)
        rows.append((key, f, hints[f.name]))
        inner = _dataclass_in(hints[f.name])
        if inner is not None:
            rows.extend(config_rows(inner, prefix=key + "."))
    return rows


def config_table(cls: type, here: str, first: tuple[str, ...] = ()) -> str:
    rows = config_rows(cls)
    rows.sort(key=lambda row: (row[0].split(".")[0] not in first, first.index(row[0]) if row[0] in first else 0))
    lines = ["| key | type | default | example | description |", "| --- | --- | --- | --- | --- |"]
    for key, f, hint in rows:
        doc = f.metadata["doc"]
        if "see" in f.metadata:
            target = posixpath.relpath(f.metadata["see"].partition("#")[0], here or ".")
            anchor = f.metadata["see"].partition("#")[2]
            doc += f" ([more]({target}{'#' + anchor if anchor else ''}))"
        example = f.metadata.get("example")
        cells = [f"`{key}`", _type(f, hint), _default(f), f"`{key.rsplit('.', 1)[-1]}: {example}`" if example else "",
                 doc]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def _dataclass_in(hint: Any) -> type | None:
    """The record a key's mapping is read into (``Adaptive``, ``Adaptive | None``), else None."""
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    for candidate in (hint, *(typing.get_args(hint) if union else ())):
        if dataclasses.is_dataclass(candidate):
            return candidate  # type: ignore[return-value]
    return None


def _type(f: dataclasses.Field[Any], hint: Any) -> str:
    if "choices" in f.metadata:
        choices = ", ".join(f"`{c}`" for c in f.metadata["choices"])
        return f"list of {choices}" if typing.get_origin(hint) is tuple else f"one of {choices}"
    if "type" in f.metadata:
        return f.metadata["type"]
    units = f.metadata.get("units")
    if units:
        return units
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = args[0] if len(args) == 1 else hint
    if hint is bool:
        return "boolean"
    if hint is int:
        return "integer"
    if hint is float:
        return "number"
    if hint is str:
        return "text"
    if typing.get_origin(hint) is tuple:
        return "list of text"
    return "mapping"


def _default(f: dataclasses.Field[Any]) -> str:
    if f.metadata.get("required"):
        return "required"
    if "computed" in f.metadata:
        return f.metadata["computed"]
    if "shown" in f.metadata:
        return f"`{f.metadata['shown']}`"
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        raise ValueError(f"{f.name}: no default, and no 'required', 'computed' or 'shown' in its metadata")
    if value is None or value == ():
        return f"`{f.metadata['none']}`" if "none" in f.metadata else "none"
    return f"`{_yaml(value, f.metadata.get('units'))}`"


def _yaml(value: Any, units: str | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if units == "duration":
        return config_mod.format_duration(value)
    if units == "size":
        return config_mod.format_size(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):
        inner = [f"{f.metadata.get('yaml', f.name)}: {_yaml(getattr(value, f.name), f.metadata.get('units'))}"
                 for f in dataclasses.fields(value)]
        return "{" + ", ".join(inner) + "}"
    return str(value)


# --- command line -------------------------------------------------------------

def help_text(command: str) -> str:
    """What ``ingest COMMAND --help`` prints on a terminal HELP_COLUMNS wide."""
    out = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_COLUMNS)
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            cli.build_parser().parse_args([*command.split(), "--help"])
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return out.getvalue()


def cli_reference(here: str) -> str:
    sections = []
    for command, page in cli.COMMAND_DOCS.items():
        title = f"ingest {command}".strip()
        guide = posixpath.relpath(page.removeprefix("docs/"), here or ".")
        more = f"Guide: [{page.removeprefix('docs/')}]({guide})\n\n" if command else ""
        sections.append(f"## `{title}`\n\n{more}```text\n$ {title} --help\n{help_text(command).rstrip()}\n```\n")
    return "\n".join(sections)


# --- --json output -------------------------------------------------------------

SCHEMA = Path(cli.__file__).resolve().parent.parent / "schema" / "output.schema.json"


def json_reference() -> str:
    """A table of keys per kind of object, from the schema's ``$defs`` and their descriptions."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    defs = schema["$defs"]
    sections = []
    for name, definition in defs.items():
        properties = definition.get("properties")
        if not properties:
            continue
        command, _, kind = name.partition(".")
        title = f"`{command.replace('-', ' ')}`: {kind} objects" if kind else f"`{name}`"
        lines = [f"### {title}", "", definition.get("description", "").rstrip(".") + ".", "",
                 "| key | value | meaning |", "| --- | --- | --- |"]
        for key, spec in properties.items():
            meaning = spec.get("description", "")
            if "$ref" in spec:
                target = spec["$ref"].rsplit("/", 1)[-1]
                meaning = meaning or defs[target].get("description", "")
            cells = [f"`{key}`", _json_type(spec, defs), meaning]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def _json_type(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return " or ".join(f"`{json.dumps(v)}`" for v in spec["enum"])
    if "$ref" in spec:
        target = spec["$ref"].rsplit("/", 1)[-1]
        inner = defs[target]
        return _json_type(inner, defs) if "properties" not in inner else f"[`{target}`](#{target})"
    kinds = spec.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    names = []
    for kind in kinds:
        if kind == "array":
            names.append(f"list of {_json_type(spec.get('items', {}), defs)}")
        elif kind == "string" and spec.get("format") == "date-time":
            names.append("time")
        elif kind == "object" and "additionalProperties" in spec and isinstance(spec["additionalProperties"], dict):
            names.append(f"object of {_json_type(spec['additionalProperties'], defs)}")
        else:
            names.append(kind)
    return " or ".join(names)


# --- metrics --------------------------------------------------------------------

def metrics_reference() -> str:
    """Every metric a daemon (and a cluster node) serves, with its type and help, from its registry."""
    from ingest.faces.observe import Metrics, NodeMetrics

    metrics = Metrics()
    NodeMetrics(metrics, "node")
    lines = ["| metric | type | meaning |", "| --- | --- | --- |"]
    for family in metrics.registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        lines.append(f"| `{name}` | {family.type} | {family.documentation} |")
    return "\n".join(lines)


# --- profiles ---------------------------------------------------------------------

_KINDS = {
    "date": " (`YYYY-MM-DD`)",
    "datetime": " (`YYYY-MM-DD HH:MM:SS +00:00`, UTC)",
    "not": " (`false` for a `draft: true` feed)",
}


def profiles_reference() -> str:
    """File names and front-matter keys, in order, of every profile, from the profiles' own tables."""
    from ingest.core.rendering.profiles import DEFAULT_PROFILE, PROFILES

    lines = ["| profile | file | with `images: download` | front matter, in this order |", "| --- | --- | --- | --- |"]
    for name, profile in PROFILES.items():
        keys = []
        for f in profile.fields:
            if f.kind == "blank":
                continue
            if f.kind == "const":
                keys.append(f"`{f.key}: {f.value}`")
            else:
                empty = f" (`{f.empty}` when empty)" if f.empty else ""
                keys.append(f"`{f.key}`{_KINDS.get(f.kind, '')}{empty}")
        path = profile.path.format(slug="<slug>", date="YYYY-MM-DD")
        bundle = (profile.bundle_path or profile.path).format(slug="<slug>", date="YYYY-MM-DD")
        images = profile.image_dir.format(slug="<slug>") + "/"
        label = f"`{name}`" + (" (default)" if name == DEFAULT_PROFILE else "")
        lines.append(f"| {label} | `{path}` | `{bundle}`, images in `{images}` | {', '.join(keys)} |")
    return "\n".join(lines)
