"""The Article: one entry, cleaned, as every later stage sees it, and its stored JSON form.

The store keeps each written entry's Article as JSON so ``ingest rebuild``
can render it again without the feed; the two functions here are the only
writer and reader of that form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from .excerpt import SUMMARY_LENGTH
from .media import Enclosure

__all__ = ["Article", "article_from_json", "article_to_json"]


@dataclass(frozen=True)
class Article:
    """Everything the renderer needs, already cleaned; ``slug`` is a base name."""

    identity: str
    title: str
    date: date | None
    description: str
    summary: str
    slug: str
    image: str
    link: str
    source: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    draft: bool
    body: str
    published: datetime | None = None  # the full UTC time behind ``date``, when known
    # description and summary keep the full plain text; rendering cuts them to
    # this many characters, so a stored entry can be rendered again under the rule
    summary_length: int = SUMMARY_LENGTH
    # Not rendered by any profile: kept for the feed's filter rules, which match them.
    author: str = ""
    entry_categories: tuple[str, ...] = ()  # the entry's own <category> values
    # The feed's ``extra_fields:`` and what the entry has of them (see ``media``); stored only when set.
    extra_fields: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    duration: int | None = None
    video_id: str = ""
    # Schemes of URLs left out of link:/image: (see ``safeurl``), for the feed's line; never stored.
    refused_urls: tuple[str, ...] = field(default=(), compare=False)


def article_to_json(article: Article) -> str:
    """The Article as JSON, so ``ingest rebuild`` can render it again without the feed."""
    data = {f.name: getattr(article, f.name) for f in _FIELDS if f.name not in _NOT_STORED}  # asdict() deep-copies
    data["categories"] = list(article.categories)
    data["tags"] = list(article.tags)
    data["date"] = article.date.isoformat() if article.date else None
    data["published"] = article.published.isoformat() if article.published else None
    for name, default in _EXTRA_DEFAULTS.items():  # kept only when set: stores from before stay byte for byte
        if data[name] == default:
            del data[name]
    if article.enclosures:
        data["enclosures"] = [[item.url, item.type, item.length] for item in article.enclosures]
    if article.extra_fields:
        data["extra_fields"] = list(article.extra_fields)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


_EXTRA_DEFAULTS: dict[str, Any] = {"extra_fields": (), "enclosures": (), "duration": None, "video_id": ""}


_FIELDS = fields(Article)
_NOT_STORED = frozenset({"refused_urls"})
_FIELD_NAMES = frozenset(f.name for f in _FIELDS)


def article_from_json(text: str) -> Article:
    data = json.loads(text)
    data["date"] = date.fromisoformat(data["date"]) if data.get("date") else None
    data["published"] = datetime.fromisoformat(data["published"]) if data.get("published") else None
    data["categories"] = tuple(data["categories"])
    data["tags"] = tuple(data["tags"])
    data["entry_categories"] = tuple(data.get("entry_categories", ()))
    data["extra_fields"] = tuple(data.get("extra_fields", ()))
    data["enclosures"] = tuple(Enclosure(*item) for item in data.get("enclosures", ()))
    return Article(**{k: v for k, v in data.items() if k in _FIELD_NAMES})
