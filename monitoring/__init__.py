"""Monitoring: the prediction log in windows, Evidently reports, and the retraining trigger."""
