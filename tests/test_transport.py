"""The network layer under httpx: HTTPS, failed handshakes, and connections the server dropped."""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from conftest import FeedServer, Request, Response, item, rss, run_cli, write_config
from ingest.app.config_file import load
from ingest.shell.fetch import Client
from ingest.app.run import poll_feed
from ingest.shell.store import Store


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[FeedServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    srv = FeedServer(tls=context)
    yield srv
    srv.close()


def trust(ca: trustme.CA, directory: Path) -> dict[str, str]:
    """The environment that makes ingest trust ``ca``, as a user with a private CA sets it."""
    bundle = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return {"SSL_CERT_FILE": str(bundle)}


def test_an_https_feed_is_fetched_and_then_asked_conditionally(
    tmp_path: Path, ca: trustme.CA, tls_server: FeedServer
) -> None:
    tls_server.feed("/feed.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [tls_server.url("/feed.xml")])
    env = trust(ca, tmp_path)

    first = run_cli("--config", config, "run", env=env)
    second = run_cli("--config", config, "run", env=env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 new" in first.stdout
    assert len(list((tmp_path / "posts").iterdir())) == 2
    assert second.returncode == 0, second.stdout + second.stderr
    assert "unchanged (not modified)" in second.stdout
    assert tls_server.requests_to("/feed.xml")[1].headers["if-none-match"]


def test_an_untrusted_certificate_fails_only_its_feed_and_says_why(
    tmp_path: Path, tls_server: FeedServer, server: FeedServer
) -> None:
    tls_server.feed("/feed.xml", rss([item(1)]))
    server.feed("/plain.xml", rss([item(2)]))
    config = write_config(
        tmp_path,
        [{"url": tls_server.url("/feed.xml"), "name": "private-ca"}, {"url": server.url("/plain.xml"), "name": "plain"}],
    )

    result = run_cli("--config", config, "run", env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""})

    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("private-ca")]
    assert len(failed) == 1 and "cannot connect" in failed[0] and "certificate verify failed" in failed[0], result.stdout
    assert "plain" in result.stdout and "1 new" in result.stdout
    assert len(list((tmp_path / "posts").iterdir())) == 1


def test_a_server_that_never_finishes_the_handshake_times_out(tmp_path: Path) -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])  # and never say anything
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{silent.getsockname()[1]}/feed.xml"
    config = write_config(tmp_path, [{"url": url, "name": "mute", "timeout": "1s"}])
    try:
        result = run_cli("--config", config, "run")
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        silent.close()

    assert result.returncode == 1
    assert "mute" in result.stdout and "timed out after 1s connecting (timeout)" in result.stdout, result.stdout


def test_a_keep_alive_connection_the_server_dropped_is_not_reused(tmp_path: Path, server: FeedServer) -> None:
    """A long-lived client (the daemon's) must notice a server closed an idle connection.

    The server here closes every connection right after answering without
    saying so, as servers do with idle keep-alive connections; a client that
    sent its next request on the dead connection would fail that feed.
    """
    body = {path: rss([item(n)]).encode() for n, path in ((1, "/a.xml"), (2, "/b.xml"))}

    def answer_and_hang_up(request: Request) -> Response:
        return Response(200, body[request.path], {"Content-Type": "application/rss+xml"}, hang_up=True)

    server.route("/a.xml", answer_and_hang_up)
    server.route("/b.xml", answer_and_hang_up)
    config = load(write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")], concurrency=1))

    async def poll_both() -> list[str]:
        statuses = []
        with Store.open(config.store) as store:
            async with Client(1) as client:
                for feed in config.feeds:
                    report = await poll_feed(config, feed, store, client)
                    statuses.append(report.error or report.status)
                    await asyncio.sleep(0.3)  # the server's close arrives while the connection is idle
        return statuses

    statuses = asyncio.run(poll_both())

    assert statuses == ["ok", "ok"]
    assert server.connections == 2


@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "proxy"])
def test_a_proxy_from_the_environment_is_used_and_no_cookie_is_kept(
    tmp_path: Path, server: FeedServer, through_proxy: bool
) -> None:
    """A name that cannot resolve is reachable only through the proxy the environment names.

    The loopback server plays the proxy: it receives the absolute URL. The
    first feed's answer sets a cookie, which the second feed's request to
    the same site must not carry: ingest keeps no cookies between feeds.
    """
    base = "http://feeds.example.invalid" if through_proxy else server.url("")
    prefix = base if through_proxy else ""
    for n in (1, 2):
        server.route(
            f"{prefix}/{n}.xml",
            lambda _r, n=n: Response(200, rss([item(n)]).encode(), {
                "Content-Type": "application/rss+xml", "Set-Cookie": f"visit={n}; Path=/",
            }),
        )
    config = write_config(tmp_path, [f"{base}/1.xml", f"{base}/2.xml"], concurrency=1)
    env = {"HTTP_PROXY": server.url(""), "NO_PROXY": ""} if through_proxy else {"HTTP_PROXY": "", "NO_PROXY": ""}

    result = run_cli("--config", config, "run", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((tmp_path / "posts").iterdir())) == 2
    assert [r.path for r in server.requests] == [f"{prefix}/1.xml", f"{prefix}/2.xml"]
    assert all("cookie" not in r.headers for r in server.requests)


def test_a_fetch_cut_off_by_its_deadline_frees_the_only_connection(tmp_path: Path, server: FeedServer) -> None:
    """With one connection allowed, the next feed needs the one the cut-off fetch held.

    The deadline cancels the fetch mid-body; the transport must still hand
    its connection slot to the next request.
    """
    drip = (bytes([b]) for b in itertools.cycle(rss([item(1)]).encode()))
    server.route("/drip", lambda _r: Response(200, stream=drip, trickle=0.2, headers={"Content-Type": "application/rss+xml"}))
    server.feed("/next.xml", rss([item(2)]))
    config = write_config(
        tmp_path,
        [{"url": server.url("/drip"), "name": "drip", "deadline": "1s"}, {"url": server.url("/next.xml"), "name": "next"}],
        concurrency=1,
    )

    result = run_cli("--config", config, "run")

    assert result.returncode == 1
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith(("drip", "next"))}
    assert "took longer than the 1s deadline (deadline)" in lines["drip"], result.stdout
    assert "1 new" in lines["next"], result.stdout


def test_requests_to_one_host_share_a_kept_alive_connection(tmp_path: Path, server: FeedServer) -> None:
    paths = [f"/{n}.xml" for n in range(5)]
    for n, path in enumerate(paths):
        server.feed(path, rss([item(n)]))
    config = write_config(tmp_path, [server.url(path) for path in paths], concurrency=1)

    first = run_cli("--config", config, "run")
    again = run_cli("--config", config, "run")  # every feed 304: each answer read to its end, the connection kept

    assert "5 feeds: 5 ok" in first.stdout and again.stdout.count("unchanged (not modified)") == 5, again.stdout
    assert server.connections == 2  # one for each run


class OneAnswerThenHangUp:
    """A raw HTTP/1.1 server: its first connection answers one request, then closes at the next without a word.

    As a server does that drops an idle keep-alive connection at the very
    moment the client sends on it: the client cannot have seen the close.
    Later connections answer every request.
    """

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.answered = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.talk, args=(conn, self.connections), daemon=True).start()

    def talk(self, conn: socket.socket, number: int) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer.split(b"\r\n\r\n", 1)[1]
                if number == 1 and self.answered:
                    return  # the next request on the first connection: closed unanswered
                self.answered += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: "
                             + str(len(self.body)).encode() + b"\r\n\r\n" + self.body)

    def close(self) -> None:
        self.listener.close()


def test_a_kept_connection_closed_instead_of_answered_is_asked_again_on_a_new_one(tmp_path: Path) -> None:
    origin = OneAnswerThenHangUp(rss([item(1)]).encode())
    try:
        config = load(write_config(tmp_path, [f"{origin.url}/a.xml", f"{origin.url}/b.xml"], concurrency=1))

        async def poll_both() -> list[str]:
            with Store.open(config.store) as store:
                async with Client(1) as client:
                    return [(await poll_feed(config, feed, store, client)).error or "ok" for feed in config.feeds]

        statuses = asyncio.run(poll_both())
    finally:
        origin.close()

    assert statuses == ["ok", "ok"]
    assert origin.connections == 2 and origin.answered == 2


@pytest.mark.parametrize(("padding", "accepted"), [(40_000, True), (200_000, False)], ids=["40 KB", "200 KB"])
def test_an_answer_s_headers_are_read_up_to_100_kb(tmp_path: Path, server: FeedServer, padding: int, accepted: bool) -> None:
    body = rss([item(1)]).encode()
    server.route("/big.xml", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml", "X-Padding": "a" * padding}))
    config = write_config(tmp_path, [{"url": server.url("/big.xml"), "name": "big"}])

    result = run_cli("--config", config, "run")

    line = next(line for line in result.stdout.splitlines() if line.startswith("big"))
    if accepted:
        assert result.returncode == 0 and "1 new" in line, result.stdout
    else:
        assert result.returncode == 1 and "RemoteProtocolError" in line, result.stdout


def test_the_connections_kept_idle_are_capped_the_longest_idle_making_room(server: FeedServer) -> None:
    """However many hosts a daemon asks, it keeps at most ``max_keepalive_connections`` connections idle."""
    import httpx

    from ingest.shell.transport import make_transport

    other = FeedServer()
    try:
        for srv in (server, other):
            srv.feed("/feed.xml", rss([item(1)]))

        async def ask(urls: list[str]) -> list[int]:
            transport = make_transport(httpx.Limits(max_connections=4, max_keepalive_connections=1))
            statuses = []
            async with httpx.AsyncClient(transport=transport) as client:
                for url in urls:
                    statuses.append((await client.get(url)).status_code)
            return statuses

        first, second = server.url("/feed.xml"), other.url("/feed.xml")
        assert asyncio.run(ask([first, first, second, first])) == [200] * 4
    finally:
        other.close()
    assert server.connections == 2  # kept for its second request, dropped when the other host's was kept
    assert other.connections == 1
