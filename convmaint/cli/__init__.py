"""The Typer command-line interface: each verb is a thin wrapper over one API function."""
