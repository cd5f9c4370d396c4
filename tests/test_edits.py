"""Files the site's owner edited by hand survive upstream updates and rebuilds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config

BODY_EDIT = "story-number-1-about-things.md"
DRAFT_EDIT = "story-number-2-about-things.md"
NEW_KEY = "story-number-3-about-things.md"
UNTOUCHED = "story-number-4-about-things.md"


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def body(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("---\n", 2)[2]


def upstream(version: int) -> str:
    """Four stories; version 2 changes every one's description and body upstream."""
    if version == 1:
        return rss([item(n) for n in (1, 2, 3, 4)])
    return rss([
        item(n, description=f"Corrected summary of story {n}.", content=f"<p>Corrected body of story {n}.</p>")
        for n in (1, 2, 3, 4)
    ])


def edit_three_files(posts: Path) -> None:
    """The owner's edits: commentary in one body, a post hidden, a key of their own."""
    one = posts / BODY_EDIT
    one.write_text(one.read_text(encoding="utf-8") + "<p>My own commentary.</p>\n", encoding="utf-8")
    two = posts / DRAFT_EDIT
    two.write_text(two.read_text(encoding="utf-8").replace("draft: false", "draft: true"), encoding="utf-8")
    three = posts / NEW_KEY
    three.write_text(
        three.read_text(encoding="utf-8").replace("\ndraft: false\n", "\ndraft: false\nweight: 7\n"), encoding="utf-8"
    )


def fresh_run(tmp_path: Path, server: FeedServer) -> Path:
    """The files a brand-new store and output get from the feed as it is now: what 'follows upstream' means."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    config = write_config(fresh, [{"url": server.url("/site.xml"), "name": "site"}])
    assert run_cli("--config", config, "run").returncode == 0
    return fresh / "posts"


@pytest.fixture
def edited_site(tmp_path: Path, server: FeedServer):
    """A site whose owner edited three of four files, and a feed that then changes all four upstream."""

    def make(mode: str | None) -> tuple[Path, Path]:
        site = tmp_path / "site"
        site.mkdir()
        feed = {"url": server.url("/site.xml"), "name": "site"}
        if mode:
            feed["edits"] = mode
        server.feed("/site.xml", upstream(1))
        config = write_config(site, [feed])
        assert run_cli("--config", config, "run").returncode == 0
        edit_three_files(site / "posts")
        server.feed("/site.xml", upstream(2))
        return config, site / "posts"

    return make


def test_keep_is_the_default_and_leaves_every_edited_file_as_the_owner_left_it(
    tmp_path: Path, server: FeedServer, edited_site
) -> None:
    config, posts = edited_site(None)
    before = snapshot(posts)

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stderr
    assert "0 new, 1 updated, 0 unchanged" in result.stdout
    assert f"3 updated upstream, kept your edits: {BODY_EDIT}, {DRAFT_EDIT}, {NEW_KEY}" in result.stdout
    after = snapshot(posts)
    for name in (BODY_EDIT, DRAFT_EDIT, NEW_KEY):
        assert after[name] == before[name]
    fresh = fresh_run(tmp_path, server)
    assert (posts / UNTOUCHED).read_bytes() == (fresh / UNTOUCHED).read_bytes()

    again = run_cli("--config", config, "run", "--force")
    assert "kept your edits" not in again.stdout  # said once, when upstream changed
    assert snapshot(posts) == after


def test_merge_follows_upstream_wherever_the_owner_did_not_edit(
    tmp_path: Path, server: FeedServer, edited_site
) -> None:
    config, posts = edited_site("merge")

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stderr
    assert "0 new, 4 updated, 0 unchanged" in result.stdout
    assert f"3 merged with your edits: {BODY_EDIT}, {DRAFT_EDIT}, {NEW_KEY}" in result.stdout
    fresh = fresh_run(tmp_path, server)
    # the body the owner wrote to stays theirs; the front matter follows upstream
    assert "My own commentary." in body(posts / BODY_EDIT) and "Corrected body" not in body(posts / BODY_EDIT)
    assert front_matter(posts / BODY_EDIT) == front_matter(fresh / BODY_EDIT)
    # draft: true stays; the rest, body included, follows upstream
    assert front_matter(posts / DRAFT_EDIT) == {**front_matter(fresh / DRAFT_EDIT), "draft": True}
    assert body(posts / DRAFT_EDIT) == body(fresh / DRAFT_EDIT)
    # the owner's own key stays where they put it
    merged = (posts / NEW_KEY).read_text(encoding="utf-8")
    assert merged == (fresh / NEW_KEY).read_text(encoding="utf-8").replace(
        "\ndraft: false\n", "\ndraft: false\nweight: 7\n"
    )
    assert (posts / UNTOUCHED).read_bytes() == (fresh / UNTOUCHED).read_bytes()

    # the merged files still count as edited: the next upstream change merges again
    listed = run_cli("--config", config, "edits")
    assert listed.returncode == 0
    assert "3 files edited by hand" in listed.stdout and "changed upstream since" not in listed.stdout


def test_overwrite_replaces_edited_files_with_upstream(tmp_path: Path, server: FeedServer, edited_site) -> None:
    config, posts = edited_site("overwrite")

    result = run_cli("--config", config, "run")

    assert result.returncode == 0 and "0 new, 4 updated, 0 unchanged" in result.stdout
    assert "your edits" not in result.stdout
    fresh = fresh_run(tmp_path, server)
    assert {n: b for n, (b, _m) in snapshot(posts).items()} == {n: b for n, (b, _m) in snapshot(fresh).items()}


def test_edits_lists_edited_files_and_a_rebuild_in_merge_mode_brings_kept_ones_up_to_date(
    tmp_path: Path, server: FeedServer, edited_site
) -> None:
    config, posts = edited_site(None)
    assert run_cli("--config", config, "run").returncode == 0  # keeps all three edits

    listed = run_cli("--config", config, "edits")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    for name in (BODY_EDIT, DRAFT_EDIT, NEW_KEY):
        assert any(line.endswith(f"{name}  edited; changed upstream since") for line in lines), listed.stdout
    assert not any(UNTOUCHED in line for line in lines)
    assert lines[-1].startswith("3 files edited by hand") and "3 changed upstream since" in lines[-1]

    config.write_text(config.read_text().replace("name: site", "name: site\n  edits: merge"))
    rebuilt = run_cli("--config", config, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rewrote 3 files" in rebuilt.stdout and "3 merged with your edits" in rebuilt.stdout
    assert "My own commentary." in body(posts / BODY_EDIT)
    assert front_matter(posts / BODY_EDIT)["description"] == "Corrected summary of story 1."
    assert front_matter(posts / DRAFT_EDIT)["draft"] is True
    assert "Corrected body of story 2." in body(posts / DRAFT_EDIT)


@pytest.mark.parametrize("mode", ["keep", "merge", "overwrite"])
def test_a_rebuild_for_a_new_profile_treats_edited_files_by_the_edits_setting(
    tmp_path: Path, server: FeedServer, mode: str
) -> None:
    server.feed("/site.xml", upstream(1))
    config = write_config(tmp_path, [{"url": server.url("/site.xml"), "name": "site", "edits": mode}])
    assert run_cli("--config", config, "run").returncode == 0
    posts = tmp_path / "posts"
    edit_three_files(posts)
    before = snapshot(posts)
    config.write_text(config.read_text().replace("output: posts", "output:\n  dir: posts\n  profile: jekyll"))

    result = run_cli("--config", config, "rebuild")

    assert result.returncode == 0, result.stderr
    moved = {n: b for n, (b, _m) in snapshot(posts).items()}
    jekyll = {n: f"_posts/2026-01-0{n + 1}-story-number-{n}-about-things.md" for n in (1, 2, 3, 4)}
    assert jekyll[4] in moved and UNTOUCHED not in moved  # nobody edited it: moved and re-rendered
    assert front_matter(posts / jekyll[4])["layout"] == "post"
    if mode == "keep":
        assert "3 kept your edits" in result.stdout
        for n, name in ((1, BODY_EDIT), (2, DRAFT_EDIT), (3, NEW_KEY)):
            assert moved[name] == before[name][0] and jekyll[n] not in moved
        # and a run afterwards leaves them alone too
        again = run_cli("--config", config, "run", "--force")
        assert again.returncode == 0 and "kept your edits" not in again.stdout
        assert all(moved[name] == (posts / name).read_bytes() for name in (BODY_EDIT, DRAFT_EDIT, NEW_KEY))
    elif mode == "merge":
        assert "3 merged with your edits" in result.stdout
        assert sorted(moved) == sorted(jekyll.values())
        assert "My own commentary." in body(posts / jekyll[1])
        assert front_matter(posts / jekyll[1])["layout"] == "post"
        assert front_matter(posts / jekyll[2])["draft"] is True
        assert front_matter(posts / jekyll[3])["weight"] == 7
    else:
        assert "your edits" not in result.stdout
        assert sorted(moved) == sorted(jekyll.values())
        assert "My own commentary." not in body(posts / jekyll[1])
        assert "weight" not in front_matter(posts / jekyll[3])


def test_a_deleted_file_stays_deleted_in_every_mode(tmp_path: Path, server: FeedServer, edited_site) -> None:
    config, posts = edited_site("overwrite")
    (posts / UNTOUCHED).unlink()

    result = run_cli("--config", config, "run")

    assert result.returncode == 0 and "1 skipped" in result.stdout
    assert not (posts / UNTOUCHED).exists()
    assert run_cli("--config", config, "rebuild").returncode == 0
    assert not (posts / UNTOUCHED).exists()


def test_a_file_that_is_not_utf8_is_kept_byte_for_byte(tmp_path: Path, server: FeedServer, edited_site) -> None:
    config, posts = edited_site("merge")
    latin1 = (posts / UNTOUCHED).read_bytes().replace(b"Body of story 4.", "Café noté.".encode("latin-1"))
    (posts / UNTOUCHED).write_bytes(latin1)

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stderr
    written = (posts / UNTOUCHED).read_bytes()
    # byte for byte: a merge would mix the owner's encoding with UTF-8 in one file
    assert written == latin1
    assert b"Corrected summary of story 4." not in written
    assert UNTOUCHED in result.stdout + result.stderr or "kept" in result.stdout, result.stdout



def test_the_daemon_keeps_edits_and_says_so_in_its_poll_event(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    server.feed("/site.xml", upstream(1))
    config = write_config(tmp_path, [{"url": server.url("/site.xml"), "name": "site", "interval": "0.3s"}])
    daemon = start_daemon(config)
    daemon.wait_event("poll", feed="site", status="ok")
    posts = tmp_path / "posts"
    edit_three_files(posts)
    before = snapshot(posts)

    server.feed("/site.xml", upstream(2))
    event = daemon.wait_for(
        lambda: [e for e in daemon.events("poll", feed="site") if e.get("kept_edits")], what="a poll keeping edits"
    )[0]

    assert event["kept_edits"] == [BODY_EDIT, DRAFT_EDIT, NEW_KEY] and event["updated"] == 1
    assert "3 updated upstream, kept your edits" in event["message"]
    after = snapshot(posts)
    assert all(after[name] == before[name] for name in (BODY_EDIT, DRAFT_EDIT, NEW_KEY))
    assert after[UNTOUCHED] != before[UNTOUCHED]
