"""A stratified three-way split with a fixed seed."""

import pandas as pd


def stratified(frame: pd.DataFrame, label: str, ratios: tuple, seed: int) -> dict:
    parts = {"train": [], "validation": [], "test": []}
    for _, group in frame.groupby(label):
        shuffled = group.sample(frac=1.0, random_state=seed)
        first = int(round(len(shuffled) * ratios[0]))
        second = first + int(round(len(shuffled) * ratios[1]))
        parts["train"].append(shuffled.iloc[:first])
        parts["validation"].append(shuffled.iloc[first:second])
        parts["test"].append(shuffled.iloc[second:])
    return {name: pd.concat(chunks).sample(frac=1.0, random_state=seed) for name, chunks in parts.items()}
