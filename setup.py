"""Package definition. Direct dependencies are pinned here; constraints.txt pins the rest."""

from pathlib import Path

from setuptools import find_packages, setup

RUNTIME = [
    "sagemaker==3.27.0",
    "boto3==1.44.8",
    "xgboost-cpu==3.2.0",
    "pandas==3.1.1",
    "numpy==2.4.6",
    "scikit-learn==1.9.1",
    "GitPython==3.2.1",
    "click==8.5.1",
    "uvicorn==0.54.0",
    "httptools==0.9.0",
    "uvloop==0.23.0",
    "mlflow==3.17.2",  # experiments: imported directly
    "pyarrow==25.0.1",  # the monitor's columnar capture reader
    "scipy==1.16.3",  # the monitor's ChiSquared drift; 1.17 imports 0.2-0.3 s slower (its array-API decorators parse every docstring at import), in every job that imports scikit-learn
    "PyYAML==6.0.4",  # stage configs for the AWS templates
    "optuna==5.0.0",  # the local engine's Bayesian hyperparameter tuning (TPE)
]
DEV = [
    "pytest==9.1.1",  # 9.2 breaks xdist 3.8's --dist loadgroup silently (pytest-xdist#1386)
    "pytest-timeout==2.4.0",
    "pytest-xdist==3.8.0",  # make test runs on both cores
    "moto[server]==5.2.5",
    "cfn-lint==1.58.0",
    "ruff==0.17.6",
    "vermin==1.9.2",  # the analyzer bundle keeps to the scikit-learn image's Python 3.9
    "smclarify==0.5",  # AWS's bias-metric library (what Clarify runs): the oracle of the bias tests
]

setup(
    name="credit-default-mlops",
    version="0.1.0",
    description="SageMaker Pipelines for a credit-card-default classifier, with a local twin",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["pipelines", "pipelines.*", "steps"]),
    install_requires=RUNTIME,
    extras_require={"runtime": RUNTIME, "dev": DEV},
    entry_points={
        "console_scripts": [
            "get-pipeline-definition=pipelines.get_pipeline_definition:console",
            "run-pipeline=pipelines.run_pipeline:console",
            "mlops=pipelines.cli.main:console",
        ]
    },
)
