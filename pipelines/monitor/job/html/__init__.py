"""The HTML reports: an execution's, a schedule's timeline, the bias and explainability reports (Python 3.8)."""
