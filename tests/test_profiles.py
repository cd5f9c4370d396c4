"""Output settings: the profile and body keys, the eleventy profile, rebuild's safety rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config
from ingest.core.config import model as config_mod
from ingest.core.config import schema as config_schema
from ingest.core.content.article import Article, article_from_json, article_to_json
from ingest.core.rendering.profiles import PROFILES
from ingest.core.rendering.page import render


def front(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


# --- config ----------------------------------------------------------------


def test_output_as_a_string_keeps_the_seed_defaults(tmp_path: Path) -> None:
    cfg = config_schema.parse("output: out\nfeeds:\n  - url: https://a.example/\n", tmp_path / "f.yaml")
    assert (cfg.output, cfg.profile, cfg.body, cfg.after_run) == (tmp_path / "out", "hugo", "html", None)


def test_output_as_a_mapping(tmp_path: Path) -> None:
    text = "output:\n  dir: site\n  profile: jekyll\n  body: markdown\nhooks:\n  after_run: make\nfeeds:\n  - url: https://a.example/\n"
    cfg = config_schema.parse(text, tmp_path / "f.yaml")
    assert (cfg.output, cfg.profile, cfg.body, cfg.after_run) == (tmp_path / "site", "jekyll", "markdown", "make")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("output:\n  dir: x\n  profile: wordpress\n", "f.yaml:3: output.profile: 'wordpress' is not one of: hugo, jekyll, eleventy"),
        ("output:\n  body: rst\n", "f.yaml:2: output.body: 'rst' is not one of: html, markdown"),
        ("output:\n  directory: x\n", "f.yaml:2: output.directory: unknown key (known keys: body, dir, profile)"),
        ("hooks:\n  after_run: 5\n", "f.yaml:2: hooks.after_run: must be a shell command, or a list of program and arguments"),
        ("hooks:\n  before_run: x\n", "f.yaml:2: hooks.before_run: unknown key (known keys: after_run)"),
    ],
)
def test_bad_output_or_hook_settings_name_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(config_mod.ConfigError) as err:
        config_schema.parse(text + "feeds:\n  - url: https://a.example/\n", tmp_path / "f.yaml")
    assert str(err.value).endswith(message)


def test_a_bad_profile_stops_the_cli_before_fetching(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([item(1)]))
    config = write_config(tmp_path, [server.url("/f.xml")], output={"dir": "posts", "profile": "wordpress"})
    done = run_cli("--config", config, "run")
    assert done.returncode == 2 and "output.profile" in done.stderr and "feeds.yaml:3:" in done.stderr
    assert server.requests == [] and not (tmp_path / "posts").exists()


# --- rendering -------------------------------------------------------------


def test_eleventy_files(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([item(1, title="Hello: {{ world }} 🎉"), item(2, title="🎉")]))
    config = write_config(tmp_path, [server.url("/f.xml")], output={"dir": "posts", "profile": "eleventy"})
    assert run_cli("--config", config, "run").returncode == 0
    hello = tmp_path / "posts" / "hello-world.md"
    data = front(hello)
    assert data["title"] == "Hello: {{ world }} 🎉" and data["slug"] == "hello-world"
    assert data["tags"] == ["hello", "world"] and data["templateEngineOverride"] == "md"
    assert str(data["date"]) == "2026-01-02" and "summary" not in data
    empty = next(p for p in (tmp_path / "posts").glob("entry-*.md"))
    assert front(empty)["tags"] == []  # always a list, never null


def test_profiles_are_data_and_hugo_is_the_seed_order() -> None:
    assert [f.key for f in PROFILES["hugo"].fields if f.key] == [
        "title", "date", "description", "summary", "slug", "image", "link", "source", "categories", "tags", "draft",
    ]
    assert PROFILES["jekyll"].path == "_posts/{date}-{slug}.md"


def test_stored_article_round_trips() -> None:
    from datetime import date, datetime, timezone

    article = Article(
        "id:x", "T “q”", date(2026, 1, 2), "d", "s", "slug", "", "https://l/", "https://f/", ("c",), ("t", "u"),
        True, "<p>é</p>", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    assert article_from_json(article_to_json(article)) == article
    for profile in PROFILES.values():
        assert render(article_from_json(article_to_json(article)), profile) == render(article, profile)


def test_markdown_bodies_cannot_smuggle_tags(tmp_path: Path, server: FeedServer) -> None:
    body = "<p>Text &lt;script&gt;alert(1)&lt;/script&gt; and <b>bold</b> {{&lt; x &gt;}} {{% y %}}</p>"
    server.feed("/f.xml", rss([item(1, content=body)]))
    config = write_config(tmp_path, [server.url("/f.xml")], output={"dir": "posts", "body": "markdown"})
    assert run_cli("--config", config, "run").returncode == 0
    text = (tmp_path / "posts" / "story-number-1-about-things.md").read_text(encoding="utf-8")
    markdown = text.split("\n---\n", 1)[1]
    assert "<script>" not in markdown and "\\<script\\>" in markdown and "**bold**" in markdown
    assert "{{%" not in markdown and "{{<" not in markdown


# --- rebuild ---------------------------------------------------------------


def ingested(tmp_path: Path, server: FeedServer, n: int = 3) -> Path:
    server.feed("/f.xml", rss([item(i) for i in range(1, n + 1)]))
    config = write_config(tmp_path, [server.url("/f.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    return config


def switch(config: Path, **output: str) -> None:
    data = yaml.safe_load(config.read_text())
    data["output"] = {"dir": "posts", **output}
    config.write_text(yaml.safe_dump(data))


def test_rebuild_dry_run_changes_nothing(tmp_path: Path, server: FeedServer) -> None:
    config = ingested(tmp_path, server)
    before = snapshot(tmp_path / "posts")
    switch(config, profile="jekyll")
    done = run_cli("--config", config, "rebuild", "--dry-run")
    assert done.returncode == 0 and "would rename 3" in done.stdout
    assert snapshot(tmp_path / "posts") == before
    refused = run_cli("--config", config, "run")  # the layout was not switched either
    assert refused.returncode == 2 and "profile hugo -> jekyll" in refused.stderr


def test_rebuild_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path, server: FeedServer) -> None:
    config = ingested(tmp_path, server)
    switch(config, profile="jekyll")
    mine = tmp_path / "posts" / "_posts" / "2026-01-02-story-number-1-about-things.md"
    mine.parent.mkdir()
    mine.write_text("my own post\n")
    before = snapshot(tmp_path / "posts")
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 2 and "not written by ingest" in done.stderr and str(mine) in done.stderr
    assert snapshot(tmp_path / "posts") == before  # nothing was touched


def test_back_and_forth_between_profiles_ends_where_it_started(tmp_path: Path, server: FeedServer) -> None:
    config = ingested(tmp_path, server)
    before = {name: data for name, (data, _mtime) in snapshot(tmp_path / "posts").items()}
    switch(config, profile="jekyll", body="markdown")
    assert run_cli("--config", config, "rebuild").returncode == 0
    assert sorted(snapshot(tmp_path / "posts")) == [
        f"_posts/2026-01-{n + 1:02d}-story-number-{n}-about-things.md" for n in (1, 2, 3)
    ]
    switch(config)
    assert run_cli("--config", config, "rebuild").returncode == 0
    assert {name: data for name, (data, _mtime) in snapshot(tmp_path / "posts").items()} == before
    assert not (tmp_path / "posts" / "_posts").exists()


def test_a_moved_output_directory_is_refused_until_the_files_follow(tmp_path: Path, server: FeedServer) -> None:
    config = ingested(tmp_path, server)
    config.write_text(config.read_text().replace("output: posts", "output: site"))
    refused = run_cli("--config", config, "run")
    assert refused.returncode == 2 and "mv " in refused.stderr
    assert run_cli("--config", config, "rebuild").returncode == 2
    (tmp_path / "posts").rename(tmp_path / "site")
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    assert "3 unchanged" in done.stdout
    server.feed("/f.xml", rss([item(i) for i in range(1, 5)]))
    after = run_cli("--config", config, "run")
    assert after.returncode == 0 and "1 new, 0 updated, 3 unchanged" in after.stdout
    assert len(list((tmp_path / "site").glob("*.md"))) == 4
