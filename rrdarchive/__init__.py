"""The RRD store: metric paths, schemas, the write engine (direct or through rrdcached,
with the write-ahead log) and reads (fetch, last, xport, graph).

``archive`` (the ``Archive`` API), ``writer``, ``cli`` and the modules that call rrdtool
through ``rrd`` need librrd; the shared pure pieces (metric ids, samples, YAML, times) live
in the kernel package ``rexmon``.
"""
