"""The local engine: runs a pipeline definition JSON on one machine (no AWS, no Docker).

Nothing under this package imports the SageMaker SDK: the definition JSON is the contract.
"""
