"""The Flask web app: ingest API, graphs, status, alarms, downtimes, JSON API, auth."""
