"""Copy an upstream OpenStack Mistral 23.0.0 database into ours.

``mistral-db-manage import-upstream --from URL`` (see :mod:`.command`)
reads the upstream database (SQLite, MySQL/MariaDB or PostgreSQL; its
schema built by upstream's migrations or by its models) in one read-only
snapshot and writes the configured database, which ``upgrade head`` has
built. Modules:

* :mod:`.source`: the read-only snapshot and what upstream's schema holds;
* :mod:`.convert`: one upstream row -> one of our rows, and what our
  schema derives (counters, ``published_global``, hashes, ...);
* :mod:`.trees`: execution trees (a root execution with everything under
  it), the unit of copying, and which of them are still in flight;
* :mod:`.copier`: a pass (first or later): what changed since the last
  pass, then the writes, with progress on the terminal;
* :mod:`.verify`: source and target compared row by row;
* :mod:`.command`: the command line.
"""
