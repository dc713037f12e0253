"""Web: the long-running HTTP services, `weekly serve` (unsubscribes, sign-ups) and
`weekly preview` (the editor's live view)."""
