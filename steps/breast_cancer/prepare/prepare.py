"""Split the breast-cancer data into train, validation and test (label first, no header), as a
FrameworkProcessor job: this folder is its source_dir, ``splits.py`` a module beside it."""

import argparse
import os
import sys

import pandas as pd
import splits

parser = argparse.ArgumentParser()
parser.add_argument("--input", default="/opt/ml/processing/input")
parser.add_argument("--output", default="/opt/ml/processing/output")
parser.add_argument("--seed", type=int, default=7)
args = parser.parse_args()

files = sorted(name for name in os.listdir(args.input) if name.endswith(".csv"))
if len(files) != 1:
    sys.exit(f"expected one CSV in {args.input}, found {files}")
frame = pd.read_csv(os.path.join(args.input, files[0]))
if frame.columns[0] != "malignant" or not frame["malignant"].isin([0, 1]).all():
    sys.exit(f"{files[0]}: the first column must be the 0/1 label 'malignant', found {frame.columns[0]!r}")
for name, part in splits.stratified(frame, "malignant", (0.7, 0.15, 0.15), args.seed).items():
    folder = os.path.join(args.output, name)
    os.makedirs(folder, exist_ok=True)
    part.to_csv(os.path.join(folder, f"{name}.csv"), header=False, index=False)
    print(f"{name}: {len(part)} rows, {int(part['malignant'].sum())} malignant")
