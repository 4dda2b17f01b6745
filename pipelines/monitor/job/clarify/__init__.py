"""Clarify's bias metrics and feature attributions: the BiasReport and Explain jobs and their monitors (Python 3.8)."""
