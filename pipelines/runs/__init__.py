"""Runs on the local twin: the commit an execution carries, running a definition on the engine
with its listeners, experiments (MLflow), reproductions, retraining."""
