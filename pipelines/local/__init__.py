"""Local state: where it lives (``home.py``), the object store that ``s3://`` URIs map to
(``store.py``) and the SQLite base of every store (``database.py``).

The foundation of the local twin: the engine, the registry, the endpoint, the monitor and the
lineage all stand on it, and it imports nothing of theirs.
"""
