"""The index of the server (PS3.4 C.6.2 information model): schema, engine, catalogue,
query compiler and Alembic migrations. The only package that uses SQLAlchemy/Alembic;
everything else sees :mod:`app.server.index.records` (plain values and a Protocol).
This ``__init__`` stays empty of imports so that importing ``records`` pulls in no
database library.
"""
