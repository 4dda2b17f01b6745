"""``mlops compare``, ``mlops ui``, ``mlops experiments log`` and ``mlops reproduce``."""

from __future__ import annotations

import json
import os
import signal
import sys

import click

from pipelines.cli.context import Settings
from pipelines.core import guard
from pipelines.core.errors import UsageError
from pipelines.engine import runner
from pipelines.runs import experiments
from pipelines.runs.reproduce import reproduce as run_reproduction


@click.command("compare", help="Two executions side by side: commits, parameters, metrics and data digests.", epilog="Example:\n\n  mlops compare 4x7k2m9q1abc 9p0l1k2j3h4g")
@click.argument("first")
@click.argument("second")
@click.option("--all", "show_all", is_flag=True, help="also rows that are the same")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def compare(obj: Settings, first: str, second: str, show_all: bool, as_json: bool) -> None:
    rows = experiments.compare(obj.home, first, second)
    if as_json:
        click.echo(json.dumps([{"Section": s, "Name": n, "First": a, "Second": b} for s, n, a, b in rows], indent=2))
        return
    click.echo(f"{'':<10} {'name':<32} {first:<24} {second:<24}")
    for section, name, a, b in rows:
        if show_all or a != b or section in ("commit", "metric"):
            mark = " " if a == b else "≠"
            click.echo(f"{section:<10} {name[:32]:<32} {str(a)[:24]:<24} {str(b)[:24]:<24} {mark}")


@click.group("experiments", help="Executions as MLflow runs (local SQLite store under MLOPS_HOME, or $MLFLOW_TRACKING_URI).", epilog="Example:\n\n  mlops experiments log 4x7k2m9q1abc")
def group() -> None:
    pass


@group.command("log", help="Log an execution to MLflow now (the engine does it in the background after each run).", epilog="Example:\n\n  mlops experiments log 4x7k2m9q1abc")
@click.argument("execution")
@click.pass_obj
def log(obj: Settings, execution: str) -> None:
    home = obj.home
    run_id = experiments.log_execution(home, execution)
    click.echo(f"logged {execution} as MLflow run {run_id} in {experiments.tracking_uri(home)}")


@click.command("ui", help="Start the MLflow UI on 127.0.0.1 for the local experiments.", epilog="Example:\n\n  mlops ui --port 5000")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.pass_obj
def ui(obj: Settings, port: int) -> int:
    from pipelines.serving.process import port_problem

    home = obj.home
    taken = port_problem("127.0.0.1", port)  # MLflow itself logs the bind error and exits 0
    if taken:
        raise UsageError(taken)
    click.echo(f"MLflow UI for {experiments.tracking_uri(home)} on http://127.0.0.1:{port} (Ctrl-C stops)", err=True)
    # MLflow and its workers run under the guard: they end with this command however it ends
    # (Ctrl-C, SIGTERM, kill -9), and the port is free again. One worker for one local user (its
    # requests run in a thread pool): it answers in about 7.5 s where MLflow's default four,
    # starting at once on two cores, took 12.
    ui = guard.Guarded([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", experiments.tracking_uri(home), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"])
    try:
        with runner.stop_on_sigterm():
            return ui.process.wait()
    except KeyboardInterrupt:
        os.killpg(ui.process.pid, signal.SIGTERM)
        ui.process.wait()
        return 0
    finally:
        ui.release()


@click.command("reproduce", help="Run the pipeline again from a model package's commit and parameters, without the cache, and compare.", epilog="Example:\n\n  mlops reproduce --model-package CreditDefaultPackageGroup/3")
@click.option("--model-package", "package", required=True, help="ARN or GROUP/VERSION")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def reproduce(obj: Settings, package: str, as_json: bool) -> int:
    click.echo(f"reproducing {package} from its commit in a temporary worktree (no cache)...", err=True)
    report = run_reproduction(obj.home, package)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"{report['ModelPackageArn']} at commit {report['Commit'][:12]}")
        click.echo(f"  original   {report['OriginalExecution']}\n  reproduced {report['ReproducedExecution']} ({report['Status']})")
        click.echo(f"  data digests {'match' if report['DataDigestsMatch'] else 'DIFFER'}")
        for name, values in report["Metrics"].items():
            click.echo(f"  {name:<24} {values['original']:.6f} -> {values['reproduced'] if values['reproduced'] is None else format(values['reproduced'], '.6f')}")
    return 0 if report["Status"] == "Succeeded" and report["DataDigestsMatch"] else 1
