"""The `trygga` command-line interface."""
