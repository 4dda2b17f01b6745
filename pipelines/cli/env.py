"""``mlops env``: the shell exports that point every AWS client at the running ``mlops serve``."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from pipelines.cli.context import Settings

# Variables that would send a client elsewhere, or sign with another identity.
UNSET = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def exports(server: dict[str, str], region: str, access_key_id: str, secret_access_key: str, authority: Path) -> dict[str, str]:
    """What a shell needs: botocore reads AWS_ENDPOINT_URL for every service (boto3, the AWS CLI,
    the SageMaker SDKs), the region from either variable, and these credentials first. A client
    given AWS's own address in code (the SDKs' STS calls) goes through the server's proxy, whose
    certificates AWS_CA_BUNDLE's authority signs; loopback addresses never do (both spellings:
    Python's urllib lets the lower-case one win)."""
    loopback = "127.0.0.1,localhost,::1"
    return {
        "AWS_ENDPOINT_URL": server["url"], "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": access_key_id, "AWS_SECRET_ACCESS_KEY": secret_access_key,
        "AWS_CA_BUNDLE": str(authority),
        "HTTPS_PROXY": server["proxy"], "https_proxy": server["proxy"], "NO_PROXY": loopback, "no_proxy": loopback,
    }  # fmt: skip


@click.command(
    "env",
    help="Print the exports that make boto3, the AWS CLI and the SageMaker SDKs in this shell talk to the running mlops serve.",
    epilog='Example:\n\n  mlops serve &\n\n  eval "$(mlops env)"\n\n  aws s3 ls; python -c "import boto3; print(boto3.client(\'sagemaker\').list_pipelines())"',
)
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="the server's port, when several serve this home")
@click.pass_obj
def command(obj: Settings, port: int | None) -> None:
    from pipelines.serving import address
    from pipelines.serving.auth import load_or_create

    home = obj.home
    server = address.running(home, port)
    credentials = load_or_create(home)
    values = exports(server, home.region, credentials.access_key_id, credentials.secret_access_key, home.proxy_ca)
    for name, value in values.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    click.echo(f"unset {' '.join(UNSET)}")
    click.echo(f"# mlops serve (pid {server['pid']}) for {home.root}; requests {'must be' if server['auth'] == 'sigv4' else 'need not be'} signed", err=True)
