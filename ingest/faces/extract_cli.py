"""``ingest extract URL``: what extraction makes of one page, to tune ``selector:`` before turning it on."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["add_parser", "command_extract"]


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    extract: argparse.ArgumentParser = commands.add_parser(
        "extract", help="print what content: extract makes of one article page (Markdown, or HTML with --html)"
    )
    extract.add_argument("url", metavar="URL", help="the article page")
    extract.add_argument("--html", action="store_true", help="print the article's HTML instead of Markdown")
    extract.add_argument(
        "--feed", metavar="NAME",
        help="with this feed's settings: its selector:/remove: rules (on its own site), limits, User-Agent, robots",
    )
    extract.add_argument("--selector", action="append", metavar="CSS", help="try this selector: rule (repeat for more)")
    extract.add_argument("--remove", action="append", metavar="CSS", help="try this remove: rule (repeat for more)")
    extract.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return extract


def command_extract(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    """Print the extracted article and the rule that found it; exit 1 when the page gives none."""
    import asyncio
    from dataclasses import replace
    from urllib.parse import urlsplit

    from ..app import config_file
    from ..core.config.model import FeedConfig, redact
    from ..core.rendering.page import render_body
    from ..core.rendering.profiles import PROFILES
    from .common import EXIT_FEED_FAILED, EXIT_OK, EXIT_USAGE, error, load_config
    from ..app.articles import preview  # lxml and readability only for this command
    from ..core.content.article_page import SelectorError, check_selector

    url = args.url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        error(f"{url!r} is not an http:// or https:// URL")
        return EXIT_USAGE
    if args.feed:
        cfg = load_config(config_file.resolve_path(args.config))
        feed = cfg.select([args.feed])[0]
    else:
        feed = FeedConfig(url=url, name="extract")
    typed = tuple(args.selector or ()), tuple(args.remove or ())
    for rule in (*typed[0], *typed[1]):
        try:
            check_selector(rule)
        except SelectorError as exc:
            error(str(exc))
            return EXIT_USAGE
    if any(typed):
        feed = replace(feed, selector=typed[0] or feed.selector, remove=typed[1] or feed.remove)
    got = asyncio.run(preview(feed, url, transport, rules=any(typed)))
    if got.error is not None:
        error(f"{redact(url)}: {got.error}")
        return EXIT_FEED_FAILED
    print(f"page: {redact(got.url)}")
    print(f"title: {got.title}")
    print(f"rule: {got.rule}")
    print("---")
    print(got.html.strip() if args.html else render_body(got.html, "markdown", PROFILES["hugo"]))
    return EXIT_OK
