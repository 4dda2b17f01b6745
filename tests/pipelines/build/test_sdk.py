"""The SDK seam: a pipeline is defined without AWS and without the SDK's throwaway clients."""

from __future__ import annotations

import pytest

from pipelines.build import definition, sdk


def test_steps_are_defined_without_building_a_local_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """ProcessingStep and TransformStep ask a LocalSagemakerClient for a method's name; the
    seam's client builds no session for it (a real one takes 48 ms each), and the definition is
    the golden one (tests/pipelines/credit_default: byte-identical)."""
    from sagemaker.core.local import local_session

    def no_session(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a LocalSession was built while a pipeline was defined")

    monkeypatch.setattr(local_session.LocalSession, "__init__", no_session)
    document = definition.render(definition.build(definition.DEFAULT_MODULE, {}))
    assert [s["Type"] for s in document["Steps"]].count("Processing") >= 5


def test_the_name_only_client_answers_the_names_and_nothing_else() -> None:
    sdk.pipeline_session("us-east-1", "bucket")
    from sagemaker.core.local.local_session import LocalSagemakerClient
    from sagemaker.mlops.workflow import steps

    client = steps.LocalSagemakerClient()
    assert isinstance(client, LocalSagemakerClient) and steps.LocalSagemakerClient is not LocalSagemakerClient  # the SDK's own stays as it is
    assert (client.create_processing_job.__name__, client.create_transform_job.__name__) == ("create_processing_job", "create_transform_job")
    assert not hasattr(client, "sagemaker_session")  # built nothing: a method that needs its session fails loudly
