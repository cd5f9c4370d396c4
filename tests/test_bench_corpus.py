"""The benchmark corpus is deterministic and changes only where it says it does."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from corpus import changes_in, feed_bytes, feed_name, write_corpus

FEEDS = 21  # feeds 0, 10 and 20 change between generations


def guids(data: bytes) -> list[str]:
    return [item.findtext("guid") for item in ET.fromstring(data).iter("item")]


def test_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    names = write_corpus(first, FEEDS)
    assert names == write_corpus(second, FEEDS) == [f"{feed_name(i)}.xml" for i in range(FEEDS)]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert feed_bytes(3, generation=1) == feed_bytes(3, generation=1)


def test_generation_1_adds_one_item_on_top_of_every_tenth_feed() -> None:
    changed = []
    for index in range(FEEDS):
        before, after = feed_bytes(index), feed_bytes(index, generation=1)
        if before == after:
            continue
        changed.append(index)
        old, new = guids(before), guids(after)
        assert len(old) == len(new) == 25
        assert new[0] not in old  # a new item at the top
        assert new[1:] == old[:-1]  # the rest moved down one; the oldest is gone
    assert changed == [i for i in range(FEEDS) if changes_in(i)] == [0, 10, 20]


def test_rewriting_leaves_unchanged_files_alone(tmp_path: Path) -> None:
    write_corpus(tmp_path, FEEDS)
    old = 1_000_000_000  # far in the past, so any rewrite shows
    for path in tmp_path.iterdir():
        os.utime(path, (old, old))
    write_corpus(tmp_path, FEEDS, generation=1)
    rewritten = sorted(p.name for p in tmp_path.iterdir() if p.stat().st_mtime != old)
    assert rewritten == [f"{feed_name(i)}.xml" for i in (0, 10, 20)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{feed_name(i)}.xml" for i in range(FEEDS)]
    for index in (0, 10, 20):
        assert (tmp_path / f"{feed_name(index)}.xml").read_bytes() == feed_bytes(index, generation=1)
