"""`ssoexec agent status` output: a table for people, JSON for scripts. What an agent sends is
text from another process: made printable before it reaches the terminal."""

from __future__ import annotations

import json

from ssoexec.agent.paths import socket_path
from ssoexec.terminal import printable, shorten


def render_status(answer: dict | None, *, as_json: bool) -> str:
    if answer is None:
        return json.dumps({"running": False}) + "\n" if as_json else ""
    entries = [_entry(e) for e in answer.get("entries", []) if isinstance(e, dict)]
    pid, idle = answer.get("pid"), answer.get("idle_exit_in")
    if as_json:
        document = {
            "running": True,
            "pid": pid,
            "socket": str(socket_path()),
            "idle_exit_in": idle,
            "entries": entries,
        }
        return json.dumps(document, indent=2) + "\n"
    lines = [printable(f"agent pid {pid}, socket {socket_path()}, idle exit in {idle} s")]
    if not entries:
        return "\n".join([*lines, "holds nothing"]) + "\n"
    rows = [("PROFILE", "REGION", "MINUTES LEFT", "REFRESHES")]
    rows += [
        (
            e["profile"],
            e["region"] or "-",
            str(e["minutes_left"]),
            "yes" if e["refreshable"] else "no",
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _entry(entry: dict) -> dict:
    """An entry as shown: only the known fields, of the right types, printable."""
    minutes = entry.get("minutes_left")
    region = entry.get("region")
    return {
        "profile": shorten(entry.get("profile", "?")),
        "region": shorten(region) if isinstance(region, str) else None,
        "minutes_left": minutes if isinstance(minutes, int) else 0,
        "refreshable": entry.get("refreshable") is True,
    }
