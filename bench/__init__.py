"""fw-mcp's benchmark (not part of the test suite): `python -m bench`. See bench/README.md."""
