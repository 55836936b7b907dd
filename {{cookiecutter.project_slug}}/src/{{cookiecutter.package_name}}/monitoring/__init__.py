"""Monitoring: Prometheus metrics, input drift, accuracy from feedback, the prediction log."""
