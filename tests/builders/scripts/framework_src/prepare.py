"""A FrameworkProcessor job's script: it imports a module of its source_dir and writes its output."""

import argparse
import os

import helpers

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--rows", type=int, default=3)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "squares.csv"), "w") as handle:
    handle.write(helpers.squares(args.rows))
