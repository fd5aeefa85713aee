"""The RRD store: metric paths, schemas, the write engine (direct or through rrdcached,
with the write-ahead log) and reads (fetch, last, xport, graph).

Only ``archive`` (the ``Archive`` API) and ``cli`` need librrd; the shared pure pieces
(metric ids, samples, YAML, times) live in the kernel package ``rexmon``.
"""
