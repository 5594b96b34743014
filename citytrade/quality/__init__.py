"""Quality: the GX gates on rows and marts, their verdicts and alerts, Data Docs, notifications."""
