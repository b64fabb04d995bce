"""Token accounting and budgets."""
