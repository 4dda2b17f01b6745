"""Job scripts that run inside SageMaker processing jobs (and the local engine's sandboxes).

Each script stands alone (the job receives that one file): ``parse_args(argv)``, pure
functions, ``main(argv) -> int``, every path an argument defaulting to SageMaker's
``/opt/ml/processing/...`` location.
"""
