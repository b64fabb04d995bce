"""The chat domain: service, events, fan-out, leases, pending requests."""
