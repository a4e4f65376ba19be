"""Local files a caller names: the shared read sandbox, folder walking, passages, the output folder."""

__all__: list[str] = []
