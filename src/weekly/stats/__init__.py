"""Stats: how each issue did (sends, unsubscribes, opens, clicks), computed in one place for
`weekly stats`, its CSV, its charts and serve's private stats page."""
