"""Delivery backends: the ways a prepared message leaves this machine (SMTP first)."""
