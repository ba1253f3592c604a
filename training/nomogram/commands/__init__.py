"""CLI subcommands for the nomogram (each: add_arguments, run)."""
