"""Command modules for the export toolchain."""
