"""Model export: formats table, converters, validation, benchmark (filled by the export issue)."""
