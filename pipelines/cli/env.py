"""``mlops env``: the shell exports that point every AWS client at the running ``mlops serve``."""

from __future__ import annotations

import shlex

import click

from pipelines.cli.context import Settings


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
    values = address.exports(server, home.region, credentials.access_key_id, credentials.secret_access_key, home.proxy_ca)
    for name, value in values.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    click.echo(f"unset {' '.join(address.UNSET)}")
    click.echo(f"# mlops serve (pid {server['pid']}) for {home.root}; requests {'must be' if server['auth'] == 'sigv4' else 'need not be'} signed", err=True)
