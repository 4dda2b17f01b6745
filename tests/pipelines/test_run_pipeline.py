"""run-pipeline against moto's SageMaker and S3 (in process, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import boto3
import git
import pytest
from moto import mock_aws

from pipelines import run_pipeline

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
BUCKET = "mlops-test-bucket"
KWARGS = f'{{"default_bucket": "{BUCKET}", "region": "us-east-1"}}'


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> git.Repo:
    repository = git.Repo.init(tmp_path / "repo")
    (tmp_path / "repo" / "README.md").write_text("hello\n")
    repository.index.add(["README.md"])
    actor = git.Actor("Ada Lovelace", "ada@example.com")
    repository.index.commit("Train on the new split", author=actor, committer=actor)
    repository.create_remote("origin", "https://user:s3cret@git.example.com/team/credit.git")
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.delenv("CODEBUILD_RESOLVED_SOURCE_VERSION", raising=False)
    return repository


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield


def run(*extra: str) -> int:
    return run_pipeline.main(["--role-arn", ROLE, "--kwargs", KWARGS, *extra])


def test_upsert_and_start_carry_the_commit(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    sha = repo.head.commit.hexsha
    assert run("--tags", '{"project": "credit"}', "--parameters", '{"AucThreshold": 0.7}') == 0
    out = capsys.readouterr()
    execution_arn = out.out.strip()
    sm = boto3.client("sagemaker", region_name="us-east-1")
    pipeline_arn = sm.describe_pipeline(PipelineName="CreditDefaultPipeline")["PipelineArn"]
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=pipeline_arn)["Tags"]}
    assert tags["GitCommit"] == sha and tags["GitBranch"] == repo.active_branch.name and tags["project"] == "credit"
    assert tags["GitRepository"] == "https://git.example.com/team/credit.git"  # credentials stripped
    execution = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    assert execution["PipelineExecutionDisplayName"] == f"git-{sha[:12]}"
    assert execution["PipelineExecutionDescription"] == f"{sha[:12]} Train on the new split"
    params = {
        p["Name"]: p["Value"]
        for p in sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)["PipelineParameters"]
    }
    assert params["GitCommit"] == sha and params["AucThreshold"] == "0.7"
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["evaluate.py", "monitor-analyzer.pyz", "preprocess.py"]
    assert "code: 3 uploaded" in out.err


def test_codebuild_commit_wins(repo: git.Repo, aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CODEBUILD_RESOLVED_SOURCE_VERSION", "0123456789abcdef0123456789abcdef01234567")
    assert run() == 0
    arn = capsys.readouterr().out.strip()
    execution = boto3.client("sagemaker", region_name="us-east-1").describe_pipeline_execution(PipelineExecutionArn=arn)
    assert execution["PipelineExecutionDisplayName"] == "git-0123456789ab"


def test_dirty_tree_is_refused_unless_allowed(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    Path("README.md").write_text("changed\n")
    assert run() == 1
    assert "uncommitted changes (README.md)" in capsys.readouterr().err
    assert run("--allow-dirty") == 0
    arn = capsys.readouterr().out.strip()
    name = boto3.client("sagemaker", region_name="us-east-1").describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionDisplayName"]
    assert name.endswith("-dirty")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--parameters", '{"AucThreshhold": 0.7}'), "unknown parameter(s) AucThreshhold; the pipeline has: "),
        (("--parameters", '{"AucThreshold": "high"}'), 'AucThreshold is a Float parameter, got "high"'),
        (("--parameters", '{"GitCommit": "abc"}'), "GitCommit is set from the commit"),
        (("--tags", '[{"Key": "a"}]'), "--tags[0]: each tag needs exactly the keys Key and Value"),
        (("--tags", "[1,"), "--tags: not valid JSON"),
        (("--no-start", "--wait"), "--no-start upserts the pipeline on SageMaker and starts nothing: --wait does not apply"),
        (("--steps", "Evaluate"), "--from-execution and --steps go together"),
        (("--from-execution", "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc", "--steps", "Evaluat"), "--steps: Evaluat is not a step of CreditDefaultPipeline"),
    ],
)
def test_bad_input_is_one_clear_line(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    assert run(*args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_bucket_is_an_aws_error(repo: git.Repo, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert run() == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("AWS error: uploading ") and "NoSuchBucket" in err[-1]


def test_wait_follows_to_the_end(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    # moto's executions succeed at once and run no step.
    assert run("--wait", "--poll-seconds", "0") == 0
    assert "execution Succeeded" in capsys.readouterr().err


def test_a_definition_failing_the_policy_is_not_upserted(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--policy", "workshop") == 1
    err = capsys.readouterr().err
    assert "pipeline CreditDefaultPipeline fails the policy (32 findings); nothing was upserted:" in err
    assert "  Train (Training) /Steps/1/Arguments/VpcConfig/Subnets: no Subnets" in err
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sm.list_pipelines()["PipelineSummaries"] == []
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET)  # not even the code


def test_a_compliant_definition_is_upserted(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    kwargs = f'{{"default_bucket": "{BUCKET}", "region": "us-east-1", "subnets": ["subnet-1"], "security_group_ids": ["sg-1"], "kms_key": "alias/credit"}}'
    assert run_pipeline.main(["--role-arn", ROLE, "--kwargs", kwargs, "--policy", "workshop"]) == 0
    assert "policy workshop: compliant" in capsys.readouterr().err
    sm = boto3.client("sagemaker", region_name="us-east-1")
    document = sm.describe_pipeline(PipelineName="CreditDefaultPipeline")["PipelineDefinition"]
    assert '"Subnets": ["subnet-1"]' in document and '"KmsKeyId": "alias/credit"' in document


def test_no_start_upserts_the_monitoring_pipeline_and_starts_nothing(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--module-name", "pipelines.monitoring.pipeline", "--no-start") == 0
    arn = capsys.readouterr().out.strip()
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sm.describe_pipeline(PipelineName="CreditDefaultMonitoring")["PipelineArn"] == arn
    assert sm.list_pipeline_executions(PipelineName="CreditDefaultMonitoring")["PipelineExecutionSummaries"] == []


def test_a_selective_execution_passes_sagemakers_selective_execution_config(repo: git.Repo, aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The request StartPipelineExecution receives, checked against botocore's shape."""
    import botocore.client

    from tests.helpers.aws_shapes import problems

    sent: list[dict] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self: botocore.client.BaseClient, operation: str, params: dict) -> dict:
        if operation == "StartPipelineExecution":
            sent.append(params)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    assert run() == 0
    source = capsys.readouterr().out.strip()
    assert run("--from-execution", source, "--steps", "Evaluate,CheckAuc") == 0
    assert sent[-1]["SelectiveExecutionConfig"] == {"SourcePipelineExecutionArn": source, "SelectedSteps": [{"StepName": "Evaluate"}, {"StepName": "CheckAuc"}]}
    assert problems(sent[-1]["SelectiveExecutionConfig"], "SelectiveExecutionConfig") == []

