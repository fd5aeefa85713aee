"""The RRD archive: metric names, samples, schemas, and the rrdtool-backed store.

Modules that do not import rrdtool (``errors``, ``metric``, ``sample``, ``yamlconf``,
``timespec``) are shared with slurper nodes, which install without librrd. Nor do
``schemas``, ``config``, ``plan``, ``graph``, ``listing``, ``rrdcached``, ``wal`` and
``durability``; only ``archive`` (the ``Archive`` API) and ``cli`` need librrd.
"""
