"""The `citytrade` command and what it reads for people."""
