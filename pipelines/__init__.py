"""SageMaker Pipelines for a credit-card-default classifier, with a local twin."""

__version__ = "0.1.0"
