"""Ingest: find release files in the landing zone, parse each format, load the rows, quarantine what is bad."""
