"""The guard in conftest.py: a test cannot reach past loopback, nor authenticate to a real provider."""

import os
import socket

import httpx
import pytest

from .conftest import NetworkAccessError


def test_non_loopback_connections_fail() -> None:
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    with pytest.raises(NetworkAccessError):
        httpx.get("https://huggingface.co/api/whoami-v2", timeout=1)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()


def test_provider_keys_are_removed() -> None:
    assert not any(name.endswith("_API_KEY") for name in os.environ)
    assert "HF_TOKEN" not in os.environ
