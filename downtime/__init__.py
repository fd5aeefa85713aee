"""The downtime database: planned and unplanned downtimes with scopes, and its CLI."""
