"""Code beside the entry script: proof that source_dir was unpacked."""


def squares(rows: int) -> str:
    import pandas as pd

    return pd.DataFrame({"n": range(rows), "square": [n * n for n in range(rows)]}).to_csv(index=False)
