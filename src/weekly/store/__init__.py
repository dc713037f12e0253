"""Store: the send ledger and the consent log behind small protocols; the only place with
SQL. SQLite, one file per newsletter folder, is the embedded implementation."""
