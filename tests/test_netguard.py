"""The test setup's network guard refuses everything but loopback, here and in subprocesses."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import netguard


def test_non_loopback_connection_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(netguard.NetworkBlocked, match="203.0.113.9"):
            sock.connect(("203.0.113.9", 443))


def test_dns_for_remote_names_is_refused() -> None:
    with pytest.raises(netguard.NetworkBlocked, match="sagemaker.us-east-1.amazonaws.com"):
        socket.getaddrinfo("sagemaker.us-east-1.amazonaws.com", 443)


def test_boto3_cannot_reach_aws() -> None:
    import boto3
    import botocore.exceptions

    client = boto3.client("sts", region_name="us-east-1")
    with pytest.raises((netguard.NetworkBlocked, botocore.exceptions.EndpointConnectionError)):
        client.get_caller_identity()


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_fake_credentials_are_set() -> None:
    import boto3

    credentials = boto3.Session().get_credentials()
    assert credentials is not None and credentials.access_key == "testing"


def test_subprocesses_are_guarded_and_refusals_logged(guarded_env: dict[str, str]) -> None:
    code = "import socket\ntry:\n    socket.create_connection(('203.0.113.9', 443), timeout=1)\nexcept OSError as e:\n    print(type(e).__name__)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=guarded_env, check=True)
    assert result.stdout.strip() == "NetworkBlocked"
    assert "203.0.113.9" in Path(guarded_env["MLOPS_NETGUARD_LOG"]).read_text()
