"""Captured traffic read column by column (pyarrow), and merged with ground truth."""
