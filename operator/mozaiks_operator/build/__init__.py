"""Pure builders: a typed Tenant goes in, manifest dicts come out (no client, clock or randomness)."""
