"""Storage models owned by the daemon (dial attempts, agents). Filled in by the daemon work."""
