"""Lineage read from SageMaker's APIs, against recorded responses (botocore's Stubber asserts each request)."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber

from pipelines.lineage import sagemaker_api as aws

SHA = "0123456789abcdef0123456789abcdef01234567"
ACCOUNT = "111122223333"
PIPELINE = "CreditDefaultPipeline"
GROUP = "CreditDefaultPackageGroup"
PACKAGE = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/creditdefaultpackagegroup/3"
OTHER_PACKAGE = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/creditdefaultpackagegroup/2"
EXECUTION = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/creditdefaultpipeline/execution/abc123"
OTHER_EXECUTION = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/creditdefaultpipeline/execution/def456"
WHEN = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    return boto3.client("sagemaker", region_name="eu-west-1")


def package(arn: str, commit: str) -> dict:
    return {
        "ModelPackageName": "creditdefaultpackagegroup", "ModelPackageArn": arn, "CreationTime": WHEN,
        "ModelPackageStatus": "Completed", "ModelApprovalStatus": "Approved",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "InferenceSpecification": {"Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://b/models/model.tar.gz"}],
                                   "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        "MetadataProperties": {"CommitId": commit},
    }  # fmt: skip


def stub_executions(stub: Stubber) -> None:
    stub.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": [
            {"PipelineExecutionArn": OTHER_EXECUTION, "PipelineExecutionDisplayName": "git-fedcba987654", "PipelineExecutionStatus": "Succeeded", "StartTime": WHEN},
            {"PipelineExecutionArn": EXECUTION, "PipelineExecutionDisplayName": f"git-{SHA[:12]}", "PipelineExecutionStatus": "Succeeded", "StartTime": WHEN},
        ]},
        {"PipelineName": PIPELINE, "SortBy": "CreationTime", "SortOrder": "Descending"},
    )  # fmt: skip
    stub.add_response(
        "list_pipeline_parameters_for_execution",
        {"PipelineParameters": [{"Name": "AucThreshold", "Value": "0.75"}, {"Name": "GitCommit", "Value": SHA}]},
        {"PipelineExecutionArn": EXECUTION},
    )


def test_from_an_endpoint_to_its_commit_executions_and_monitoring(client) -> None:  # type: ignore[no-untyped-def]
    with Stubber(client) as stub:
        stub.add_response("describe_endpoint", {"EndpointName": "credit-default-staging", "EndpointArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/credit-default-staging",
                                                "EndpointConfigName": "cfg-1", "EndpointStatus": "InService", "CreationTime": WHEN, "LastModifiedTime": WHEN},
                          {"EndpointName": "credit-default-staging"})
        stub.add_response("describe_endpoint_config", {"EndpointConfigName": "cfg-1", "EndpointConfigArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint-config/cfg-1",
                                                       "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "model-1"}], "CreationTime": WHEN},
                          {"EndpointConfigName": "cfg-1"})
        stub.add_response("describe_model", {"ModelName": "model-1", "ModelArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model/model-1", "CreationTime": WHEN,
                                             "Containers": [{"ModelPackageName": PACKAGE}]},
                          {"ModelName": "model-1"})
        stub.add_response("describe_model_package", package(PACKAGE, SHA), {"ModelPackageName": PACKAGE})
        stub_executions(stub)
        stub.add_response("list_monitoring_schedules", {"MonitoringScheduleSummaries": [
            {"MonitoringScheduleName": "credit-default-staging-data-quality", "MonitoringScheduleArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:monitoring-schedule/credit-default-staging-data-quality",
             "CreationTime": WHEN, "LastModifiedTime": WHEN, "MonitoringScheduleStatus": "Scheduled"}]},
                          {"EndpointName": "credit-default-staging"})
        stub.add_response("list_monitoring_executions", {"MonitoringExecutionSummaries": [
            {"MonitoringScheduleName": "credit-default-staging-data-quality", "ScheduledTime": WHEN, "CreationTime": WHEN, "LastModifiedTime": WHEN,
             "MonitoringExecutionStatus": "CompletedWithViolations", "ProcessingJobArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:processing-job/model-monitoring-1"}]},
                          {"MonitoringScheduleName": "credit-default-staging-data-quality", "SortBy": "ScheduledTime", "SortOrder": "Descending", "MaxResults": 24})
        traced = aws.trace_endpoint(client, "credit-default-staging", PIPELINE)
        stub.assert_no_pending_responses()
    assert traced["ModelPackageArn"] == PACKAGE and traced["GitCommit"] == SHA
    assert traced["PipelineExecutions"] == [EXECUTION]  # the other commit's execution is not listed
    assert traced["Monitoring"][0]["MonitoringExecutionStatus"] == "CompletedWithViolations"
    assert traced["ModelDataUrl"] == "s3://b/models/model.tar.gz"


def test_from_a_commit_to_its_executions_packages_and_endpoints(client) -> None:  # type: ignore[no-untyped-def]
    with Stubber(client) as stub:
        stub.add_response("list_model_packages", {"ModelPackageSummaryList": [
            {"ModelPackageArn": PACKAGE, "CreationTime": WHEN, "ModelPackageStatus": "Completed"},
            {"ModelPackageArn": OTHER_PACKAGE, "CreationTime": WHEN, "ModelPackageStatus": "Completed"}], "NextToken": "page-2"},
                          {"ModelPackageGroupName": GROUP, "SortBy": "CreationTime", "SortOrder": "Descending"})
        stub.add_response("describe_model_package", package(PACKAGE, SHA), {"ModelPackageName": PACKAGE})
        stub.add_response("describe_model_package", package(OTHER_PACKAGE, "f" * 40), {"ModelPackageName": OTHER_PACKAGE})
        stub.add_response("list_model_packages", {"ModelPackageSummaryList": []},
                          {"ModelPackageGroupName": GROUP, "SortBy": "CreationTime", "SortOrder": "Descending", "NextToken": "page-2"})
        stub_executions(stub)
        stub.add_response("list_endpoints", {"Endpoints": [{"EndpointName": "credit-default-prod", "EndpointArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/credit-default-prod",
                                                            "CreationTime": WHEN, "LastModifiedTime": WHEN, "EndpointStatus": "InService"}]}, {})
        stub.add_response("describe_endpoint", {"EndpointName": "credit-default-prod", "EndpointArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/credit-default-prod",
                                                "EndpointConfigName": "cfg-2", "EndpointStatus": "InService", "CreationTime": WHEN, "LastModifiedTime": WHEN},
                          {"EndpointName": "credit-default-prod"})
        stub.add_response("describe_endpoint_config", {"EndpointConfigName": "cfg-2", "EndpointConfigArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint-config/cfg-2",
                                                       "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "model-2"}], "CreationTime": WHEN},
                          {"EndpointConfigName": "cfg-2"})
        stub.add_response("describe_model", {"ModelName": "model-2", "ModelArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model/model-2", "CreationTime": WHEN,
                                             "PrimaryContainer": {"ModelPackageName": PACKAGE}},
                          {"ModelName": "model-2"})
        stub.add_response("describe_model_package", package(PACKAGE, SHA), {"ModelPackageName": PACKAGE})
        traced = aws.trace_commit(client, SHA, PIPELINE, GROUP)
        stub.assert_no_pending_responses()
    assert [e["PipelineExecutionArn"] for e in traced["PipelineExecutions"]] == [EXECUTION]
    assert traced["ModelPackages"] == [{"ModelPackageArn": PACKAGE, "ModelApprovalStatus": "Approved"}]
    assert traced["Endpoints"] == [{"EndpointName": "credit-default-prod", "EndpointArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/credit-default-prod", "ModelPackageArn": PACKAGE}]
