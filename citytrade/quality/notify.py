"""Alerts that reach people: one grouped notification per run (errors first) to the channels configured, via Apprise."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

ALERT_URLS_ENV = "CITYTRADE_ALERT_URLS"  # Apprise URLs (json://, jsons://, slack://, mailto://, ...), comma/space separated
ALERT_SECRET_BLOCK_ENV = "CITYTRADE_ALERT_SECRET_BLOCK"  # or the name of a Prefect Secret block holding them
MAX_LINES_PER_GROUP = 40
GROUPS = (("error", "Errors"), ("warning", "Warnings"), ("info", "Noted"))


@dataclass
class Notification:
    """What was (or would be) sent for one run."""

    title: str
    body: str
    sent: bool = False
    channels: int = 0
    outcome: str = ""  # one line for the run log, never a channel's URL


def alert_urls(secret_value: str | None = None) -> list[str]:
    """The channels: CITYTRADE_ALERT_URLS plus the value of a Prefect Secret block when the flow resolved one."""
    text = " ".join(value for value in (os.environ.get(ALERT_URLS_ENV, ""), secret_value or "") if value)
    return [url for url in re.split(r"[\s,]+", text) if url]


def compose(status: str, message: str, run_id: str, alerts: list[dict]) -> tuple[str, str]:
    """A title that says what happened, and a body listing this run's new alerts, errors first."""
    counts = {severity: sum(1 for a in alerts if a.get("severity") == severity) for severity, _ in GROUPS}
    title = f"citytrade run {status}: {counts['error']} error(s), {counts['warning']} warning(s)"
    lines = [message, f"run {run_id}"]
    for severity, heading in GROUPS:
        group = [a for a in alerts if a.get("severity") == severity]
        if not group:
            continue
        lines += ["", f"{heading} ({len(group)}):"]
        for alert in group[:MAX_LINES_PER_GROUP]:
            lines.append(f"- [{alert.get('check_name')}] {alert.get('message')}")
        if len(group) > MAX_LINES_PER_GROUP:
            lines.append(f"- ... and {len(group) - MAX_LINES_PER_GROUP} more (citytrade alerts)")
    return title, "\n".join(lines)


def should_notify(status: str, alerts: list[dict]) -> bool:
    """A run that did not publish, or found new errors or warnings, tells people; a clean run stays quiet."""
    return status != "published" or any(a.get("severity") in ("error", "warning") for a in alerts)


def notify_run(status: str, message: str, run_id: str, alerts: list[dict], urls: list[str]) -> Notification:
    """Send one grouped notification to every channel; a channel that fails is logged, never raised."""
    title, body = compose(status, message, run_id, alerts)
    notification = Notification(title=title, body=body)
    if not urls:
        notification.outcome = f"no alert channel configured ({ALERT_URLS_ENV})"
        return notification
    if not should_notify(status, alerts):
        notification.outcome = "nothing to report"
        return notification
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            # the URL itself may carry a password or token: name only its scheme
            log.warning("alert channel %s://... is not a valid Apprise URL; skipped", url.split("://", 1)[0])
    notification.channels = len(sender)
    if not notification.channels:
        notification.outcome = "no valid alert channel"
        return notification
    with _quiet_apprise():
        notification.sent = bool(sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
    safe = ", ".join(_redacted(server) for server in sender)
    notification.outcome = f"alert {'sent' if notification.sent else 'NOT sent (a channel failed)'} to {safe}"
    (log.info if notification.sent else log.warning)(notification.outcome)
    return notification


def _redacted(server) -> str:
    """Apprise's privacy form of a channel's URL: secrets masked."""
    try:
        return server.url(privacy=True)
    except Exception:  # a plugin that cannot print itself still must not leak
        return f"{server.protocol if isinstance(server.protocol, str) else 'channel'}://***"


class _quiet_apprise:
    """Apprise logs request URLs at debug level; keep its logger at WARNING while sending."""

    def __enter__(self):
        self.logger = logging.getLogger("apprise")
        self.level = self.logger.level
        self.logger.setLevel(logging.WARNING)

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)


def notify_report(report, secret_value: str | None = None) -> Notification:
    """The run's notification: its outcome and this run's new alerts (a RunReport or its dict)."""
    fields = report if isinstance(report, dict) else report.__dict__
    return notify_run(fields["status"], fields["message"], fields["run_id"], list(fields.get("new_alerts") or []), alert_urls(secret_value))
