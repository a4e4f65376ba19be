"""Spend you can see and cap: prices, costs, budgets, the usage ledger, prompt-cache keys.

Submodules are imported where they are used; this package imports nothing, so loading settings
(which reads `fw_mcp.spend.config`) stays cheap.
"""

__all__: list[str] = []
