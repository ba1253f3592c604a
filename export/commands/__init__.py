"""``otscc`` subcommands of the export package."""
