"""The execution core: orders, fills and reconciliation on one exchange, whatever the strategy."""
