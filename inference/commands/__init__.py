"""CLI subcommands of the runtime (each: add_arguments, run)."""
