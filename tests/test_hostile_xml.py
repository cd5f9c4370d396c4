"""Entity-expansion bombs and external entities are refused, never expanded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import FeedServer, item, rss, stored_feed, write_config
from ingest.faces.cli import main

STORE = "state/ingest.sqlite3"


def billion_laughs() -> str:
    """The classic: ten levels of ten references, 10^9 'lol's if expanded."""
    lines = ['<!ENTITY lol "lol">']
    for level in range(1, 10):
        previous = "lol" if level == 1 else f"lol{level - 1}"
        lines.append(f'<!ENTITY lol{level} "{f"&{previous};" * 10}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(lines) + "\n]>\n"
        '<rss version="2.0"><channel><title>&lol9;</title><link>http://example.com/</link>'
        "<item><title>Laughing &lol9;</title><guid>http://example.com/1</guid>"
        "<description>&lol9;</description></item></channel></rss>"
    )


def peak_memory_of_run(config: Path) -> tuple[int, subprocess.CompletedProcess[str]]:
    """``ingest run`` in a process of its own, and the largest resident set of any process it started.

    Feeds are parsed in worker processes (or in the run's own process on one
    core), so the parent of the run measures them all: RUSAGE_CHILDREN
    covers every descendant that was waited for, and the workers are.
    A fresh parent, so no earlier test's processes count.
    """
    measure = (
        "import resource, subprocess, sys\n"
        "run = subprocess.run([sys.executable, '-m', 'ingest', '--config', sys.argv[1], 'run'],"
        " capture_output=True, text=True)\n"
        "sys.stderr.write(run.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(run.returncode)\n"
        "sys.stdout.write(run.stdout)\n"
    )
    result = subprocess.run([sys.executable, "-c", measure, str(config)], capture_output=True, text=True, timeout=120)
    peak_kib, code, out = result.stdout.split("\n", 2)
    return int(peak_kib) * 1024, subprocess.CompletedProcess(result.args, int(code), out, result.stderr)


def test_billion_laughs_is_refused_without_expanding(tmp_path: Path, server: FeedServer) -> None:
    server.static("/bomb", 200, billion_laughs(), "application/rss+xml")
    server.feed("/fine", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/bomb"), "name": "bomb"}, server.url("/fine")])

    peak, run = peak_memory_of_run(config)

    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "bomb" in out and "refused: the document declares entity 'lol1' built from other entities" in out
    # the bomb's 10^9 'lol's would take gigabytes; a run of two small feeds takes well under 200 MB
    assert peak < 200 * 1024 * 1024, f"peak resident memory {peak / 2**20:.0f} MB"
    assert [p.name for p in (tmp_path / "posts").iterdir()] == ["story-number-1-about-things.md"]
    for path in (tmp_path / "posts").iterdir():
        assert "lollol" not in path.read_text()
    assert "entity-expansion" in stored_feed(tmp_path / STORE, server.url("/bomb"))["last_error"]


def test_the_bomb_is_refused_whatever_encoding_it_claims_and_however_it_is_laid_out(
    tmp_path: Path, server: FeedServer, capsys
) -> None:
    one_line = billion_laughs().replace("\n", "").replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="windows-1252"?>')
    server.static("/bomb", 200, one_line.encode("cp1252"), "application/xml")
    config = write_config(tmp_path, [{"url": server.url("/bomb"), "name": "bomb"}])

    assert main(["--config", str(config), "run"]) == 1
    assert "refused: the document declares entity" in capsys.readouterr().out


def test_external_entities_are_never_loaded(tmp_path: Path, server: FeedServer, capsys) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    document = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE rss [\n<!ENTITY file SYSTEM "{secret.as_uri()}">\n'
        f'<!ENTITY remote SYSTEM "{server.url("/steal")}">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>Leak &file; &remote;</title>'
        "<guid>http://example.com/leak</guid></item></channel></rss>"
    )
    server.static("/xxe", 200, document, "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/xxe"), "name": "xxe"}])

    assert main(["--config", str(config), "run"]) == 1

    assert "refused: the document declares external entity 'file'" in capsys.readouterr().out
    assert server.requests_to("/steal") == []
    written = list((tmp_path / "posts").iterdir()) if (tmp_path / "posts").exists() else []
    assert all("TOP-SECRET-VALUE" not in p.read_text() for p in written) and written == []


def test_a_plain_character_entity_still_works(tmp_path: Path, server: FeedServer) -> None:
    document = rss([item(1, title="Caf&eacute; society")]).replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE rss [\n<!ENTITY eacute "&#233;">\n]>\n',
    ).replace("Caf&amp;eacute;", "Caf&eacute;")
    server.static("/ok", 200, document, "application/rss+xml")
    config = write_config(tmp_path, [server.url("/ok")])

    assert main(["--config", str(config), "run"]) == 0

    files = list((tmp_path / "posts").iterdir())
    assert len(files) == 1 and 'title: "Café society"' in files[0].read_text()
