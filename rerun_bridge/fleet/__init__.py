"""Beyond one machine: many recordings converted as Ray tasks (:mod:`.batch`), recordings and outputs in
S3-compatible object storage (:mod:`.storage`, :mod:`.remote_bags`), and a Parquet catalog of runs queried
with DuckDB (:mod:`.catalog`). :mod:`.discovery` turns inputs into recordings, :mod:`.jobs` is one
recording's work, :mod:`.commands` the ``batch`` and ``catalog`` commands (docs/fleet.md)."""
