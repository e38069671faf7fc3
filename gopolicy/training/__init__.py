"""Supervised training of policy networks (train) and their move-prediction accuracy (evaluate)."""
