"""Model Monitor's data quality: statistics with KLL sketches, suggested constraints, the checks."""
