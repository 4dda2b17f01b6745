"""Model Monitor's model quality: binary-classification metrics, against ground truth."""
