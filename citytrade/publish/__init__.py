"""Publish: the marts swapped in for readers, the HTML report, summaries for Prefect artifacts."""
