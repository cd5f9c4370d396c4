"""Config keys for limits and request identity: accepted forms and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli, write_config
from ingest.app.config_file import load
from ingest.core.config.model import BasicAuth, ConfigError, parse_size


def test_defaults_and_overrides(tmp_path: Path) -> None:
    config = load(write_config(
        tmp_path,
        [{"url": "https://a.example/f"},
         {"url": "https://b.example/f", "deadline": "5s", "timeout": 2, "max_size": "512KiB", "max_redirects": 0,
          "headers": {"X-Key": "v"}, "auth": {"username": "u", "password": "p"}}],
        defaults={"max_size": "2MB"},
        host_concurrency=3,
    ))
    a, b = config.feeds
    assert (a.deadline, a.timeout, a.max_size, a.max_redirects, a.headers, a.auth) == (30.0, 10.0, 2_000_000, 5, (), None)
    assert (b.deadline, b.timeout, b.max_size, b.max_redirects) == (5.0, 2.0, 512 * 1024, 0)
    assert b.headers == (("X-Key", "v"),) and b.auth == BasicAuth("u", "p")
    assert "p" not in repr(b.auth).replace("password", "")
    assert config.host_concurrency == 3


@pytest.mark.parametrize(
    ("value", "size"), [(100, 100), ("100", 100), ("1KiB", 1024), ("1.5 MiB", 1572864), ("10MB", 10_000_000), ("1gib", 2**30)]
)
def test_sizes(value, size) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        ({"max_size": "lots"}, "feeds[0].max_size: 'lots' is not a size"),
        ({"max_size": 0}, "feeds[0].max_size: must be at least 1 byte"),
        ({"deadline": "soon"}, "feeds[0].deadline: 'soon' is not a duration"),
        ({"max_redirects": -1}, "feeds[0].max_redirects: must be a whole number of at least 0"),
        ({"headers": ["X: y"]}, "feeds[0].headers: must be a mapping"),
        ({"headers": {"Bad Name": "v"}}, "'Bad Name' is not a valid header name"),
        ({"headers": {"Authorization": "Bearer x"}}, "Authorization is set by ingest and cannot be configured (use 'auth:'"),
        ({"headers": {"X-A": "one\ntwo"}}, "X-A: the value must be on one line"),
        ({"auth": "u:p"}, "feeds[0].auth: must be {username"),
        ({"auth": {"username": "u"}}, "give exactly one of password or password_env"),
        ({"auth": {"username": "u", "password_env": "NO_SUCH_VARIABLE_X"}}, "environment variable NO_SUCH_VARIABLE_X is not set"),
    ],
)
def test_bad_values_name_the_key_and_line(tmp_path: Path, feed: dict, message: str) -> None:
    path = write_config(tmp_path, [{"url": "https://a.example/f", **feed}])
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:")


def test_a_config_error_never_shows_the_password(tmp_path: Path) -> None:
    path = write_config(tmp_path, [{"url": "https://a.example/f", "auth": {"username": "u", "password": "hunter2", "realm": "x"}}])

    result = run_cli("--config", path, "run")

    assert result.returncode == 2
    assert "unknown key 'realm'" in result.stderr and "hunter2" not in result.stderr + result.stdout


def test_host_concurrency_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="host_concurrency: must be a whole number of at least 1"):
        load(write_config(tmp_path, ["https://a.example/f"], host_concurrency=0))
