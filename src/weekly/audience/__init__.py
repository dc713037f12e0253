"""Audience: who gets mail. The subscriber list, the consent log's meaning (sign-ups,
opt-outs, bounces), and the signed tokens in unsubscribe and confirmation links."""
