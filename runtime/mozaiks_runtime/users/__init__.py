"""A user's data as a whole: export (JSON Lines) and erasure with a receipt."""
