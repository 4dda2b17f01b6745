"""What every monitoring job uses, on the scikit-learn image and the XGBoost image alike (Python 3.8, no pyarrow)."""
