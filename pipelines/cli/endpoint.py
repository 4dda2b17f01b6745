"""``mlops deploy``, ``mlops endpoint`` and ``mlops serve``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from pipelines.cli.context import Settings
from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.serving import deploy as deployment
from pipelines.serving.endpoints import EndpointStore
from pipelines.serving.stages import stages


@click.command("deploy", help="Deploy a registered, approved package to an endpoint, with data capture.", epilog="Example:\n\n  mlops deploy --model-package CreditDefaultPackageGroup/3 --stage prod")
@click.option("--model-package", "package", required=True, help="ARN or GROUP/VERSION")
@click.option("--stage", type=click.Choice(["staging", "prod"]), default="staging", show_default=True)
@click.option("--endpoint", default=None, help="default: the stage's endpoint")
@click.option("--sampling", type=click.IntRange(0, 100), default=None, help="capture percentage (default: the stage's: staging 100, prod 80)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def deploy(obj: Settings, package: str, stage: str, endpoint: str | None, sampling: int | None, as_json: bool) -> int:
    home = obj.home
    settings = stages(home)[stage]
    described = deployment.deploy_package(home, package, endpoint or settings["endpoint"], stage, sampling)
    if as_json:
        click.echo(json.dumps(described, indent=2))
    else:
        click.echo(f"{described['EndpointName']}: {described['EndpointStatus']} on {described.get('EndpointConfigName')}" + (f" ({described['FailureReason']})" if described.get("FailureReason") else ""))
    return 0 if described.get("EndpointStatus") == "InService" and not described.get("FailureReason") else 1


@click.group("endpoint", help="Endpoints deployed under MLOPS_HOME.", epilog="Example:\n\n  mlops endpoint describe credit-default-staging --json")
def group() -> None:
    pass


def capture_counts(home: Home, name: str) -> dict[str, Any]:
    """Captured, dropped and written records of an endpoint, over every server process."""
    totals = {"Captured": 0, "Dropped": 0, "Written": 0}
    folder = home.capture_stats
    for path in folder.glob(f"{name}.*.json") if folder.is_dir() else []:
        try:
            stats = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        totals["Captured"] += stats.get("captured", 0)
        totals["Dropped"] += stats.get("dropped", 0)
        totals["Written"] += stats.get("written", 0)
    return totals


def serving_problems(home: Home, name: str) -> list[str]:
    """What running server processes say they cannot serve of endpoint ``name``."""
    problems = []
    for path in sorted(home.workers.glob("*.json")) if home.workers.is_dir() else []:
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        reason = (status.get("unloadable") or {}).get(name)
        if reason and _alive(status.get("pid")):
            problems.append(f"the server process {status.get('pid')} cannot load its model: {reason}")
    return problems


def _alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)  # type: ignore[call-overload]
    except (OSError, TypeError, ValueError):
        return False
    return True


@group.command("list", help="Endpoints and their status.", epilog="Example:\n\n  mlops endpoint list --json")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_(obj: Settings, as_json: bool) -> None:
    store = EndpointStore(obj.home)
    try:
        items = store.list_endpoints()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"Endpoints": items}, indent=2))
        return
    if not items:
        click.echo("no endpoints; deploy one with `mlops deploy` or approve a package")
    for item in items:
        click.echo(f"{item['EndpointName']:<32} {item['EndpointStatus']:<10} {item['LastModifiedTime']}")


@group.command("describe", help="DescribeEndpoint's shape, plus the capture counts and the deployment history.", epilog="Example:\n\n  mlops endpoint describe credit-default-staging --json")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def describe(obj: Settings, name: str, as_json: bool) -> None:
    home = obj.home
    store = EndpointStore(home)
    try:
        described = store.describe_endpoint(name)
        events = store.events(name)
    finally:
        store.close()
    described["CaptureCounts"] = capture_counts(home, name)
    described["DeploymentHistory"] = events
    problems = serving_problems(home, name)
    if problems:
        described["ServingProblems"] = problems
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    click.echo(f"{described['EndpointArn']}\n  status:  {described['EndpointStatus']}\n  config:  {described.get('EndpointConfigName')}")
    if described.get("FailureReason"):
        click.echo(f"  why:     {described['FailureReason']}")
    for problem in described.get("ServingProblems", []):
        click.echo(f"  serving: {problem}")
    capture = described.get("DataCaptureConfig")
    if capture:
        counts = described["CaptureCounts"]
        click.echo(f"  capture: {capture['CurrentSamplingPercentage']}% to {capture['DestinationS3Uri']} ({counts['Written']} written, {counts['Dropped']} dropped)")


@group.command("delete", help="Delete an endpoint (its models and configs stay, as in SageMaker).", epilog="Example:\n\n  mlops endpoint delete credit-default-staging")
@click.argument("name")
@click.pass_obj
def delete(obj: Settings, name: str) -> None:
    store = EndpointStore(obj.home)
    try:
        store.delete_endpoint(name)
    finally:
        store.close()
    click.echo(f"deleted {name}")


@click.command(
    "serve",
    help="Serve every endpoint deployed under MLOPS_HOME with SageMaker's runtime API, and the local AWS endpoint (the SageMaker API, S3, STS) on the same address.",
    epilog="Example:\n\n  mlops serve --port 8080\n\n  then: boto3.client('sagemaker-runtime', endpoint_url='http://127.0.0.1:8080').invoke_endpoint(EndpointName=..., ContentType='text/csv', Body=...)",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="server processes")
@click.option("--clock-file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="for demos and replays: capture times come from this clock file, which the traffic's driver sets (see pipelines/serving/clock.py)")
@click.option("--clock-start", default=None, help="for replays: capture times start at this ISO-8601 time ...")
@click.option("--clock-speed", type=click.FloatRange(min=1.0), default=1.0, show_default=True, help="... and run this many times faster than real time")
@click.option(
    "--auth",
    type=click.Choice(["sigv4", "none"]),
    default=None,
    help="require AWS Signature Version 4 on every request (default: sigv4 unless --host is 127.0.0.1/localhost)",
)
@click.option("--allow-unsigned-remote", is_flag=True, help="with --auth none, listen beyond this machine anyway")
@click.pass_obj
def serve(obj: Settings, host: str, port: int, workers: int, clock_file: Path | None, clock_start: str | None, clock_speed: float, auth: str | None, allow_unsigned_remote: bool) -> None:
    import uvicorn

    from pipelines.monitor.job.common.layout import parse_time
    from pipelines.serving import address
    from pipelines.serving.auth import PROFILE, load_or_create
    from pipelines.serving.clock import read_setting, set_clock
    from pipelines.serving.process import port_problem
    from pipelines.serving.proxy import Authority, Proxy
    from pipelines.serving.server import AUTH_VARIABLE, CLOCK_VARIABLE

    home = obj.home
    taken = port_problem(host, port)
    if taken:
        raise UsageError(taken)
    os.environ["MLOPS_HOME"] = str(home.root)  # the workers resolve it again
    if clock_start is not None:
        start = parse_time(clock_start)
        if start is None:
            raise UsageError(f"--clock-start: {clock_start!r} is not an ISO-8601 time")
        clock_file = clock_file or home.serving / f"clock.{port}.json"
        set_clock(clock_file, start, speed=clock_speed)
    if clock_file is not None:
        read_setting(clock_file)  # a missing or wrong file is refused here, not in the workers
        os.environ[CLOCK_VARIABLE] = str(clock_file.resolve())
    loopback = host in ("127.0.0.1", "localhost", "::1")
    auth = auth or ("none" if loopback else "sigv4")
    if auth == "none" and not loopback and not allow_unsigned_remote:
        raise UsageError(f"--host {host} --auth none: anyone who can reach {host}:{port} could score and read captured data; keep --auth sigv4, or pass --allow-unsigned-remote")
    os.environ[AUTH_VARIABLE] = auth
    # In both modes, before the workers start (they read one file): boto3 signs every request
    # anyway, and this profile is what the README's snippet and the demo's clients sign with.
    credentials = load_or_create(home)
    said = "requests must be signed (SigV4) with the key in" if auth == "sigv4" else "requests need no signature here; boto3 signs anyway, and can use the key in"
    click.echo(f"{said} {credentials.path}:\n  AWS_SHARED_CREDENTIALS_FILE={credentials.path} AWS_PROFILE={PROFILE}", err=True)
    click.echo(f"serving endpoints under {home.root} on http://{host}:{port} ({workers} worker(s)); Ctrl-C stops", err=True)
    click.echo(f"for boto3, the AWS CLI and the SageMaker SDKs in a shell: eval \"$(mlops --home {home.root} env)\"", err=True)
    proxy = Proxy(Authority.load_or_create(home), (address.reachable_host(host), port))
    proxy_port = proxy.start()
    with address.announced(home, host, port, auth, proxy_port):
        uvicorn.run("pipelines.serving.server:create_app", factory=True, host=host, port=port, workers=workers, http="httptools", loop="uvloop", log_level="warning", access_log=False, timeout_graceful_shutdown=10)
