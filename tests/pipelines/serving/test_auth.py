"""SigV4 on the local endpoint: botocore-signed requests pass, everything else gets AWS's 403."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import boto3
import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from pipelines.cli import main as mlops
from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.serving import auth
from tests.helpers.serving_helpers import RunningServer, deployed_home

ROW = "0.1,0.2,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,689,0,0,0"
HOST = "127.0.0.1:8080"
PATH = "/endpoints/credit-staging/invocations"


@pytest.fixture
def credentials(tmp_path: Path) -> auth.Credentials:
    return auth.load_or_create(Home.resolve(tmp_path / "home"))


def signed(key: str, secret: str, body: bytes = ROW.encode(), region: str = "us-east-1", service: str = "sagemaker") -> dict[str, str]:
    request = AWSRequest(method="POST", url=f"http://{HOST}{PATH}", data=body, headers={"Content-Type": "text/csv"})
    SigV4Auth(BotoCredentials(key, secret), service, region).add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = HOST
    return headers


def test_credentials_file_is_owner_only_and_stable(tmp_path: Path, credentials: auth.Credentials) -> None:
    assert stat.S_IMODE(credentials.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.path.parent.stat().st_mode) == 0o700
    again = auth.load_or_create(Home.resolve(tmp_path / "home"))
    assert again == credentials and credentials.access_key_id.startswith("AKIA") and len(credentials.secret_access_key) == 40
    assert credentials.secret_access_key not in repr(credentials)
    credentials.path.chmod(0o644)
    with pytest.raises(UsageError, match="readable by others .*chmod 600"):
        auth.read(credentials.path)


def test_a_botocore_signature_is_accepted(credentials: auth.Credentials) -> None:
    verifier = auth.Verifier(credentials)
    headers = signed(credentials.access_key_id, credentials.secret_access_key)
    assert verifier.check("POST", PATH, "", headers, ROW.encode()) is None
    eu = signed(credentials.access_key_id, credentials.secret_access_key, region="eu-west-1")
    assert auth.Verifier(credentials, region="eu-west-1").check("POST", PATH, "", eu, ROW.encode()) is None


@pytest.mark.parametrize(
    "change, kind, message",
    [
        (lambda h, b: ({k: v for k, v in h.items() if k != "authorization"}, b), "MissingAuthenticationTokenException", "Missing Authentication Token"),
        (lambda h, b: ({**h, "authorization": "Bearer abc"}, b), "IncompleteSignatureException", "requires 'Credential'"),
        (lambda h, b: (h, b.replace(b"20000", b"90000")), "InvalidSignatureException", "does not match the signature you provided"),
        (lambda h, b: ({**h, "content-type": "application/json"}, b), "InvalidSignatureException", "does not match"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "x-amz-date"}, b), "IncompleteSignatureException", "Signed header x-amz-date is not in the request"),
    ],
)
def test_tampered_or_unsigned_requests_are_refused(credentials: auth.Credentials, change, kind: str, message: str) -> None:  # type: ignore[no-untyped-def]
    headers, body = change(signed(credentials.access_key_id, credentials.secret_access_key), ROW.encode())
    refusal = auth.Verifier(credentials).check("POST", PATH, "", headers, body)
    assert refusal is not None and refusal[0] == kind and message in refusal[1]


def test_wrong_key_or_secret(credentials: auth.Credentials) -> None:
    verifier = auth.Verifier(credentials)
    other_key = signed("AKIAOTHEROTHEROTHER1", credentials.secret_access_key)
    assert verifier.check("POST", PATH, "", other_key, ROW.encode()) == ("UnrecognizedClientException", "The security token included in the request is invalid.")
    wrong_secret = signed(credentials.access_key_id, "x" * 40)
    assert verifier.check("POST", PATH, "", wrong_secret, ROW.encode())[0] == "InvalidSignatureException"  # type: ignore[index]


def test_a_signature_scoped_to_another_region_or_service_is_refused(credentials: auth.Credentials) -> None:
    verifier = auth.Verifier(credentials)
    other_region = signed(credentials.access_key_id, credentials.secret_access_key, region="eu-west-1")
    assert verifier.check("POST", PATH, "", other_region, ROW.encode()) == ("InvalidSignatureException", "Credential should be scoped to a valid region, not 'eu-west-1'. ")
    other_service = signed(credentials.access_key_id, credentials.secret_access_key, service="s3")
    assert verifier.check("POST", PATH, "", other_service, ROW.encode()) == ("InvalidSignatureException", "Credential should be scoped to correct service: 'sagemaker'. ")
    import botocore.session

    assert auth.SIGNING_NAME == botocore.session.get_session().get_service_model("sagemaker-runtime").signing_name


def test_a_replay_outside_the_window_is_refused(credentials: auth.Credentials) -> None:
    headers = signed(credentials.access_key_id, credentials.secret_access_key)
    signed_at = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    later = auth.Verifier(credentials, clock=lambda: signed_at + 301)
    kind, message = later.check("POST", PATH, "", headers, ROW.encode())  # type: ignore[misc]
    assert kind == "InvalidSignatureException" and message.startswith(f"Signature expired: {headers['x-amz-date']} is now earlier than")
    assert message.endswith("- 5 min.)")
    earlier = auth.Verifier(credentials, clock=lambda: signed_at - 301)
    assert earlier.check("POST", PATH, "", headers, ROW.encode())[1].startswith("Signature not yet current")  # type: ignore[index]
    assert auth.Verifier(credentials, clock=lambda: signed_at + 250).check("POST", PATH, "", headers, ROW.encode()) is None


# ---- the server, with boto3 -------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, model_dir: Path) -> Home:
    return deployed_home(tmp_path / "home", model_dir)


@pytest.fixture
def server(home: Home) -> Iterator[RunningServer]:
    running = RunningServer(home, extra_args=("--auth", "sigv4"))
    yield running
    running.stop()


def test_boto3_with_the_served_credentials_works_unchanged_and_others_get_403(home: Home, server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    path = auth.credentials_path(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    session = boto3.Session(profile_name=auth.PROFILE, region_name="us-east-1")
    client = session.client("sagemaker-runtime", endpoint_url=server.url)
    answer = client.invoke_endpoint(EndpointName="credit-staging", ContentType="text/csv", Body=ROW)
    assert 0 < float(answer["Body"].read()) < 1

    stranger = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=server.url,
                            aws_access_key_id=session.get_credentials().access_key, aws_secret_access_key="x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        stranger.invoke_endpoint(EndpointName="credit-staging", ContentType="text/csv", Body=ROW)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"

    unsigned = urllib.request.Request(f"{server.url}{PATH}", data=ROW.encode(), headers={"Content-Type": "text/csv"})
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(unsigned, timeout=10)
    assert http.value.code == 403 and http.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert json.loads(http.value.read()) == {"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}
    with urllib.request.urlopen(f"{server.url}/ping", timeout=10) as ping:  # the health check stays open
        assert ping.status == 200
    # Only the signed request was scored and captured.
    server.stop()  # flushes capture
    captured = list(home.store.rglob("*.jsonl"))
    assert sum(len(f.read_text().splitlines()) for f in captured) == 1


def test_listening_beyond_loopback_without_signing_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(tmp_path / "h"), "serve", "--host", "0.0.0.0", "--auth", "none"]) == 1
    assert "--allow-unsigned-remote" in capsys.readouterr().err
