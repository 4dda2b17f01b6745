"""The ``mlops`` command: one click group, one module per noun."""
