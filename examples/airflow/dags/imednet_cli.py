"""Runs the `imednet` command for the DAGs in this folder, and reads its exit codes.

Kept apart from Airflow (standard library only) so that it can be tested without Airflow. The
command is `imednet` on the PATH, or whatever IMEDNET_CLI says (for example `npx --yes imednet`).
Keys reach the command through the environment (IMEDNET_API_KEY, IMEDNET_SECURITY_KEY): put them in
an Airflow connection or secret backend and into the worker's environment, never in the DAG.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass

# The exit codes of `imednet` (see `imednet --help`).
OK = 0
FAILURE = 1
USAGE = 2
AUTH = 3
NOT_FOUND = 4
RATE_LIMITED = 5
UNREACHABLE = 6
OUTPUT = 7
PARTIAL = 8
JOB_FAILED = 9
JOB_TIMEOUT = 10

# Worth another try later: the API was busy or away, a job is still running, or something
# unforeseen happened. The others (bad settings, refused keys, a missing study, an output that
# cannot be written, a failed job) fail the same way until a person changes something.
RETRYABLE = {FAILURE, RATE_LIMITED, UNREACHABLE, JOB_TIMEOUT}

# Job states after which a job changes no more (the API writes them in any letter case).
TERMINAL_STATES = {"completed", "success", "succeeded", "failed", "cancelled", "canceled", "error"}


class ImednetCommandError(Exception):
    """The command failed; `retryable` says whether a later try may succeed."""

    def __init__(self, args: list[str], code: int, message: str):
        self.code = code
        self.retryable = code in RETRYABLE
        super().__init__(f"imednet {' '.join(args)}: exit {code}: {message}")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def command() -> list[str]:
    return shlex.split(os.environ.get("IMEDNET_CLI", "imednet"))


def run(args: list[str], timeout: float | None = None) -> Result:
    """Runs `imednet <args>`; raises ImednetCommandError on a non-zero exit code."""
    done = subprocess.run(
        [*command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != OK:
        # The command's one error line: it never holds a key or a password.
        last = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise ImednetCommandError(args, done.returncode, last[0])
    return Result(done.returncode, done.stdout, done.stderr)


def discover_studies(exclude: list[str] | None = None) -> list[str]:
    """The study keys the keys can see, less `exclude`, sorted."""
    studies = json.loads(run(["studies", "--format", "json"]).stdout)
    skip = set(exclude or [])
    return sorted(s["studyKey"] for s in studies if s["studyKey"] not in skip)


def export_study(study_key: str, to: str, out: str, extra: list[str] | None = None) -> dict:
    """Exports one study, resuming an interrupted export of it (a retry goes on where the last
    try stopped, and a finished one is not written again). Returns the `done` event."""
    args = ["export", study_key, "--to", to, "--out", out, "--json", "--resume", *(extra or [])]
    result = run(args)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    done = [e for e in events if e.get("event") == "done"]
    if not done:
        raise ImednetCommandError(args, FAILURE, "no done event")
    return done[-1]


def job_state(study_key: str, batch_id: str) -> str:
    """The state of an iMednet job (a batch of record writes), as the API gives it."""
    job = json.loads(run(["jobs", "status", study_key, batch_id]).stdout)
    return str(job.get("state") or "")


def wait_for_job(study_key: str, batch_id: str, timeout_ms: int, interval_ms: int = 5000) -> dict:
    """Waits until the job is done (or failed), up to `timeout_ms`: `imednet jobs wait`."""
    args = ["jobs", "wait", study_key, batch_id, "--interval", str(interval_ms), "--timeout", str(timeout_ms)]
    return json.loads(run(args).stdout)
