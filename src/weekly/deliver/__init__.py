"""Deliver: a composed issue to every recipient exactly once. Per-recipient messages,
headers and DKIM, the dispatcher with its pace and outcome table, and the backends."""
