"""Site-builder profiles: how files are named and which front-matter keys they get.

A profile is data, read by ``page``; adding a builder means adding a table
here, not another writer. Each profile also says how to stop its builder from
running entry bodies as templates: a feed is untrusted text, and Hugo
shortcodes (``{{< >}}``, ``{{% %}}``) or Liquid tags (``{{ }}``, ``{% %}``) in
a body would otherwise be executed, or break the build.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "BODY_FORMATS", "DEFAULT_BODY", "DEFAULT_PROFILE", "ELEVENTY", "Field", "HUGO", "JEKYLL", "Profile",
    "PROFILES",
]


BODY_FORMATS = ("html", "markdown")


@dataclass(frozen=True)
class Field:
    """One front-matter line.

    ``kind`` says how the value is written: ``text`` (double-quoted),
    ``excerpt`` (double-quoted, cut to the article's ``summary_length``),
    ``url`` (single-quoted), ``date`` (``YYYY-MM-DD``), ``datetime``
    (``YYYY-MM-DD HH:MM:SS +00:00``, a YAML timestamp), ``list`` (one single-quoted item a line),
    ``bool``, ``not`` (the negated bool), ``const`` (``value`` as is) and
    ``blank`` (an empty line, for readability).
    """

    key: str
    kind: str
    source: str = ""
    value: str = ""
    empty: str = ""  # what follows "key:" for an empty list ('' leaves YAML null)


@dataclass(frozen=True)
class Profile:
    name: str
    path: str  # relative file name; {slug} and {date} (YYYY-MM-DD) are filled in
    fields: tuple[Field, ...]
    escape_shortcodes: bool = False  # Hugo reads {{< and {{% in content as shortcodes
    # With ``images: download``: the file name when the post keeps its images
    # beside it (a Hugo page bundle; '' keeps ``path``), the folder of a post's
    # images within the output, and how the post refers to one of them.
    bundle_path: str = ""
    image_dir: str = "{slug}"
    image_ref: str = "{name}"

    def path_for(self, slug: str, day: date, images: str = "keep") -> str:
        pattern = self.bundle_path if images == "download" and self.bundle_path else self.path
        return pattern.format(slug=slug, date=day.isoformat())


_BLANK = Field("", "blank")

HUGO = Profile(
    name="hugo",
    path="{slug}.md",
    fields=(
        Field("title", "text", "title"),
        Field("date", "date"),
        Field("description", "excerpt", "description"),
        Field("summary", "excerpt", "summary"),
        Field("slug", "text", "slug"),
        Field("image", "url", "image"),
        Field("link", "url", "link"),
        Field("source", "url", "source"),
        Field("categories", "list", "categories"),
        Field("tags", "list", "tags"),
        _BLANK,
        Field("draft", "bool", "draft"),
    ),
    escape_shortcodes=True,
    # A leaf bundle: Hugo publishes the images beside the page, so the body's src is just the name.
    bundle_path="{slug}/index.md",
)

# Jekyll only reads posts from _posts/ named YYYY-MM-DD-title; `published:
# false` is its way of keeping a post out, and Liquid must not see the body.
JEKYLL = Profile(
    name="jekyll",
    path="_posts/{date}-{slug}.md",
    fields=(
        Field("layout", "const", value="post"),
        Field("title", "text", "title"),
        Field("date", "datetime"),
        Field("description", "excerpt", "description"),
        Field("slug", "text", "slug"),
        Field("image", "url", "image"),
        Field("link", "url", "link"),
        Field("source", "url", "source"),
        Field("categories", "list", "categories", empty="[]"),
        Field("tags", "list", "tags", empty="[]"),
        _BLANK,
        Field("published", "not", "draft"),
        Field("render_with_liquid", "const", value="false"),
    ),
    # Post URLs follow the permalink pattern, so images live in a static folder and are named from the site root.
    image_dir="assets/ingest/{slug}",
    image_ref="/assets/ingest/{slug}/{name}",
)

# Eleventy builds collections from `tags` (always a list here) and derives
# the URL from the file name, so the file is <slug>.md; Markdown files are
# run through Liquid by default, which templateEngineOverride turns off.
ELEVENTY = Profile(
    name="eleventy",
    path="{slug}.md",
    fields=(
        Field("title", "text", "title"),
        Field("date", "date"),
        Field("description", "excerpt", "description"),
        Field("slug", "text", "slug"),
        Field("image", "url", "image"),
        Field("link", "url", "link"),
        Field("source", "url", "source"),
        Field("categories", "list", "categories", empty="[]"),
        Field("tags", "list", "tags", empty="[]"),
        _BLANK,
        Field("draft", "bool", "draft"),
        Field("templateEngineOverride", "const", value="md"),
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (HUGO, JEKYLL, ELEVENTY)}
DEFAULT_PROFILE = HUGO.name
DEFAULT_BODY = "html"
