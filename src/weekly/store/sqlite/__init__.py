"""The embedded store: the ledger and the consent log as SQLite files in the newsletter's
`.weekly/` folder, with an fcntl lock file per issue being sent."""
