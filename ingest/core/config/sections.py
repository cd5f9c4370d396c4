"""The top-level sections of ``feeds.yaml`` that are not feeds: ``output:``, ``hooks:`` and ``webhooks:``."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

import yaml

from ..rendering.profiles import BODY_FORMATS, DEFAULT_BODY, DEFAULT_PROFILE, PROFILES
from .model import DEFAULT_OUTPUT, HOOK_KEYS, OUTPUT_KEYS, WEBHOOK_KEYS, ConfigError, Webhook, parse_duration
from .yaml_reader import Entries, Reader, check_keys, line_of

__all__ = ["hooks", "output", "webhooks"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def output(reader: Reader, top: Entries) -> tuple[str, str, str]:
    """``output: DIR`` (the seed form) or ``output: {dir, profile, body}``."""
    if "output" not in top or not isinstance(top["output"][1], yaml.MappingNode):
        return reader.string(top, "output", "", default=DEFAULT_OUTPUT), DEFAULT_PROFILE, DEFAULT_BODY
    entries = reader.mapping(top["output"][1], "output")
    check_keys(reader, entries, OUTPUT_KEYS, prefix="output.")
    directory = reader.string(entries, "dir", "output.", default=DEFAULT_OUTPUT)
    profile = reader.choice(entries, "profile", "output.", tuple(PROFILES), DEFAULT_PROFILE)
    body = reader.choice(entries, "body", "output.", BODY_FORMATS, DEFAULT_BODY)
    return directory, profile, body


def hooks(reader: Reader, top: Entries) -> str | tuple[str, ...] | None:
    """``hooks: {after_run: ...}``: a shell command, or a program and its arguments."""
    if "hooks" not in top:
        return None
    entries = reader.mapping(top["hooks"][1], "hooks")
    check_keys(reader, entries, HOOK_KEYS, prefix="hooks.")
    if "after_run" not in entries:
        return None
    value = reader.value(entries["after_run"][1])
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise reader.fail(
        entries, "after_run", "hooks.", "must be a shell command, or a list of program and arguments"
    )


def webhooks(reader: Reader, top: Entries) -> tuple[Webhook, ...]:
    """``webhooks:``, a list of ``{url, secret_env, timeout, retries}``; a URL's token is never quoted back."""
    if "webhooks" not in top:
        return ()
    node = top["webhooks"][1]
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError(reader.path, line_of(node), "webhooks", "must be a list of webhooks, each with a 'url:'")
    return tuple(_webhook(reader, item, f"webhooks[{index}]") for index, item in enumerate(node.value))


def _webhook(reader: Reader, item: yaml.Node, name: str) -> Webhook:
    prefix = f"{name}."
    entries = reader.mapping(item, name)
    check_keys(reader, entries, WEBHOOK_KEYS, prefix=prefix)
    url = reader.string(entries, "url", prefix, default=None)
    if url is None:
        raise ConfigError(reader.path, line_of(item), f"{prefix}url", "missing; every webhook needs a 'url:'")
    if not _web_url(url):
        raise reader.fail(entries, "url", prefix, "must be an http:// or https:// URL with a host")
    secret_env = reader.string(entries, "secret_env", prefix, default=None)
    if secret_env is not None and not _ENV_NAME.match(secret_env):
        raise reader.fail(entries, "secret_env", prefix, "must be the name of an environment variable")
    hook = Webhook(url=url, secret_env=secret_env)
    if "timeout" in entries:
        hook = replace(hook, timeout=reader.converted(entries, "timeout", prefix, parse_duration))
    retries = reader.integer(entries, "retries", prefix, default=hook.retries, minimum=0)
    return replace(hook, retries=retries)


def _web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
