"""The local AWS endpoint: what ``mlops serve`` answers besides SageMaker's runtime API, so that
boto3, the AWS CLI and the SageMaker SDKs talk to the twin unchanged (``eval "$(mlops env)"``).

- ``sagemaker.py``: the SageMaker API (JSON protocol, ``X-Amz-Target: SageMaker.*``) over the
  twin's stores; ``protocol.py`` validates its inputs and builds its outputs from botocore's
  service model; ``store.py`` keeps what only the API has (pipelines, tags, request tokens).
- ``s3.py``: S3's REST API over the object store.
- ``sts.py``: STS GetCallerIdentity (the SDKs ask it for the account).
- ``services.py``: which of these (or the runtime) a request is for, its body limit, and the
  answer in that service's shape.
"""
