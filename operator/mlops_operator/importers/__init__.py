"""Importers: other tools' formats into our resources (Azure ML YAML today)."""
