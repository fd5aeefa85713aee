"""rexmon-carbon: a receiver of Graphite's plaintext line protocol over TCP that stores
into the rexmon archive with the same durability as the HTTP ingest API."""
