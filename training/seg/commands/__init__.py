"""CLI subcommands for training (each: add_arguments, run)."""
