"""Pure builders: a typed Tenant goes in, manifests come out (no client, clock or randomness)."""
