"""Pull policies: when a command fetches an image from its registry."""

PULL_POLICIES = ("always", "if-not-present", "never")
