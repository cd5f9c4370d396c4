"""Front matter: exact layout, and property tests that any text survives a YAML round trip."""

from __future__ import annotations

import re
from datetime import date

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.core.content.normalize import SLUG_MAX, make_slug, one_line
from ingest.core.content.article import Article
from ingest.core.rendering.page import double_quoted, render, single_quoted
from ingest.core.deciding.entries import slug_candidates

SAFE_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.md$")


def article(**overrides: object) -> Article:
    fields: dict = dict(
        identity="id:https://example.com/1",
        title="A title",
        date=date(2026, 1, 7),
        description="Desc",
        summary="Desc",
        slug="a-title",
        image="",
        link="https://example.com/1",
        source="https://example.com/feed.xml",
        categories=("example.com",),
        tags=("title",),
        draft=False,
        body="<p>Body</p>",
    )
    fields.update(overrides)
    return Article(**fields)


def parse_front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    front = text.split("---\n")[1]
    return yaml.safe_load(front)


def test_layout_is_exact() -> None:
    text = render(article(tags=("one", "two"), image="https://example.com/i.png"))
    assert text == (
        "---\n"
        'title: "A title"\n'
        "date: 2026-01-07\n"
        'description: "Desc"\n'
        'summary: "Desc"\n'
        'slug: "a-title"\n'
        "image: 'https://example.com/i.png'\n"
        "link: 'https://example.com/1'\n"
        "source: 'https://example.com/feed.xml'\n"
        "categories:\n"
        "- 'example.com'\n"
        "tags:\n"
        "- 'one'\n"
        "- 'two'\n"
        "\n"
        "draft: false\n"
        "---\n"
        "<p>Body</p>\n"
    )


def test_empty_lists_and_body_still_parse() -> None:
    text = render(article(tags=(), categories=(), body="", draft=True))
    data = parse_front_matter(text)
    assert data["tags"] is None and data["categories"] is None and data["draft"] is True
    assert text.endswith("draft: true\n---\n")


HOSTILE = [
    'He said "no": #1 reason',
    "Colon: at start",
    "- looks like a list",
    "# looks like a comment",
    "'single' and ''double'' quotes",
    "back\\slash \\n not a newline",
    "emoji 🎉👩‍👩‍👧 and 中文 and עברית",
    "yes",
    "null",
    "2026-01-07",
    "tab\tinside",
    "nbsp\u00a0and\u2028line separator",
    "bell\x07 and escape\x1b and nul\x00",
    "bom\ufeff inside",
    "---",
    "{flow: mapping}",
    "[flow, list]",
    "&anchor *alias !tag %directive @at `tick`",
]


def test_hostile_titles_round_trip() -> None:
    for raw in HOSTILE:
        title = one_line(raw)
        data = parse_front_matter(render(article(title=title, description=raw, summary=raw)))
        assert data["title"] == title, raw
        assert data["description"] == raw, raw


@settings(max_examples=500)
@given(st.text())
def test_any_title_survives_front_matter_and_yaml(raw: str) -> None:
    title = one_line(raw)
    assert "\n" not in title and "\r" not in title
    data = parse_front_matter(render(article(title=title, description=title, summary=title)))
    assert data["title"] == title
    assert data["description"] == title


@settings(max_examples=300)
@given(st.text())
def test_any_text_survives_double_quoting(text: str) -> None:
    assert yaml.safe_load(f"k: {double_quoted(text)}")["k"] == text


@settings(max_examples=300)
@given(st.lists(st.text(), max_size=4), st.text())
def test_lists_and_urls_survive_single_quoting(items: list[str], url: str) -> None:
    data = parse_front_matter(render(article(tags=tuple(items), categories=tuple(items), link=url)))
    assert data["tags"] == (items or None)
    assert data["link"] == url
    assert yaml.safe_load(f"k: {single_quoted(url)}")["k"] == url


@settings(max_examples=500)
@given(st.text(), st.text(min_size=1))
def test_every_file_name_is_safe(title: str, identity: str) -> None:
    slug = make_slug(one_line(title))
    assert len(slug) <= SLUG_MAX
    slugs = slug_candidates(slug, identity)
    for name in [f"{next(slugs)}.md", f"{next(slugs)}.md"]:
        assert SAFE_NAME.match(name), name
        assert len(name.encode()) < 200
        assert name[:-3] not in ("index", "_index")


def test_reserved_and_empty_slugs_get_a_suffix() -> None:
    assert next(slug_candidates("index", "id:x")).startswith("index-")
    assert next(slug_candidates("", "id:x")).startswith("entry-")
    assert next(slug_candidates("ok", "id:x")) == "ok"
