"""The ``roadseg`` command. Each subcommand lives in its own ``cmd_*.py`` module."""
