"""Polling the AccuKnox SaaS alerts API: HTTP client, URL policy, windows and checkpoint."""
