"""Completion webhooks: signed POSTs of a few chat events, through an outbox in the store."""
