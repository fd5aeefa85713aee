"""The shared kernel: metric ids, samples, the YAML loader, time and size parsing, site
settings, the error base and the database engine.

It imports nothing else of rexmon's, and nothing of librrd, Flask or apprise (the
database module imports SQLAlchemy, which only the server installs; ``commandline``
imports click, which every install has), so a slurper node that installs without the
server extras can import every other module here.
"""
