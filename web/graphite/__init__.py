"""The Graphite API over the RRD archive, so Grafana's built-in Graphite data source reads
rexmon: ``/graphite/render``, ``/graphite/metrics/find``, ``/graphite/functions``,
``/graphite/events/get_data`` (downtimes and alarm transitions as events). See
docs/grafana.md."""
