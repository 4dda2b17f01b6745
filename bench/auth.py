"""SigV4 verification cost on the local endpoint, beside signing the same request (botocore).

Prints the time to verify one request and to sign one (what every boto3 client pays anyway):
the server's per-request cost of --auth sigv4 next to the client's.

    python bench/auth.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipelines.local.home import Home
from pipelines.serving import auth

ROW = b"0.1,0.2,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,689,0,0,0"
PATH = "/endpoints/credit-staging/invocations"


def sign(credentials: auth.Credentials) -> dict[str, str]:
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:8080{PATH}", data=ROW, headers={"Content-Type": "text/csv"})
    SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key), "sagemaker", "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "127.0.0.1:8080"
    return headers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as folder:
        credentials = auth.load_or_create(Home.resolve(Path(folder)))
        verifier = auth.Verifier(credentials)
        start = time.perf_counter()
        signed = [sign(credentials) for _ in range(n)]
        signing = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for headers in signed:
            assert verifier.check("POST", PATH, "", headers, ROW) is None
        verifying = (time.perf_counter() - start) / n
    print(f"{'':<28}{'per request':>14}{'requests/s/core':>18}")
    print(f"{'client signs (botocore)':<28}{signing * 1e6:>11.1f} us{1 / signing:>18,.0f}")
    print(f"{'server verifies (ours)':<28}{verifying * 1e6:>11.1f} us{1 / verifying:>18,.0f}")
    print(f"verify/sign: {verifying / signing:.2f}x over {n} requests")


if __name__ == "__main__":
    main()
