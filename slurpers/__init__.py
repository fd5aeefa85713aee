"""Slurpers: one small module per data source, and the runner that pushes their samples.

Nothing here imports rrdtool, Flask or apprise: slurper nodes install without them.
"""
