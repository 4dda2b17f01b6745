"""STS on the local twin: GetCallerIdentity, in STS's query protocol (a form body, an XML answer).

The SDKs ask it for the account (``Session.account_id()``, the default bucket's name
``sagemaker-{region}-{account}``) and for the caller's role (``get_execution_role()``, which
every AWS example notebook calls and which refuses a caller that is not a role). So the caller
is what it is in a SageMaker notebook: the twin's execution role, assumed, in the twin's
account (``get_execution_role()`` gives ``arn:aws:iam::000000000000:role/SageMakerExecutionRole``).
Other STS actions answer STS's error shape naming the action.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from pipelines.local.home import Home

Answer = tuple[int, dict[str, str], bytes]
NS = "https://sts.amazonaws.com/doc/2011-06-15/"
USER = "mlops-local"
ROLE = "SageMakerExecutionRole"


def handle(home: Home, query: str, body: bytes) -> Answer:
    """One STS request (its parameters in the query string or the form body)."""
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    params.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
    action = params.get("Action")
    if action != "GetCallerIdentity":
        return error(400, "InvalidAction", f"Could not find operation {action or '(no Action)'} for version {params.get('Version', '2011-06-15')}; the local twin serves GetCallerIdentity")
    result = (
        f"<Arn>arn:aws:sts::{home.account}:assumed-role/{ROLE}/{USER}</Arn>"
        f"<UserId>{escape('AROA' + home.account)}:{USER}</UserId>"
        f"<Account>{home.account}</Account>"
    )
    text = f'<GetCallerIdentityResponse xmlns="{NS}"><GetCallerIdentityResult>{result}</GetCallerIdentityResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>'
    return 200, {"content-type": "text/xml"}, text.encode()


def error(status: int, code: str, message: str, namespace: str = NS) -> Answer:
    """STS's error shape (the query protocol's ErrorResponse; other query services' with their ``namespace``)."""
    kind = "Sender" if status < 500 else "Receiver"
    text = f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>'
    return status, {"content-type": "text/xml"}, text.encode()
