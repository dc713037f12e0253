"""The shared store: the ledger and the consent log in one PostgreSQL database (psycopg 3
with a connection pool), so several senders on several machines share one truth."""
