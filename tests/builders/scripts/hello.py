"""A job script a data scientist keeps beside the builder."""

import argparse
import pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--out", default="/opt/ml/processing/out")
args = parser.parse_args()
pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(args.out) / "hello.txt").write_text("hello from a local code path")
