"""Every iMednet study the keys can see, exported nightly to Parquet, one mapped task per study.

- `discover` lists the study keys (`imednet studies --format json`), less IMEDNET_EXCLUDE.
- `export` is mapped over them (dynamic task mapping): `imednet export <study> --to parquet
  --resume`, in the `imednet_api` pool (create it with as many slots as the API should see
  exports at once: Admin > Pools, or `airflow pools set imednet_api 2 "iMednet API"`), with retries,
  exponential backoff and an execution timeout. A retry resumes the interrupted export (every record
  exactly once); an error no retry can fix (bad settings, refused keys, a missing study, an output
  that cannot be written) fails the task at once.
- `imednet_job_sensor` waits for an iMednet job (a batch of record writes) to finish: trigger it
  with {"study_key": ..., "batch_id": ...}; it pokes `imednet jobs status` in reschedule mode, so
  it holds no worker slot while it waits, and `imednet jobs wait` confirms the outcome.

Needs Airflow 2.9 or later (the TaskFlow sensor decorator and `PokeReturnValue`), and the `imednet`
command on the workers (`npm install -g imednet`, or IMEDNET_CLI="npx --yes imednet").
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.decorators import dag, task
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.sensors.base import PokeReturnValue

import imednet_cli

OUT = os.environ.get("IMEDNET_EXPORT_ROOT", "/data/imednet")
EXCLUDE = [k for k in os.environ.get("IMEDNET_EXCLUDE", "").split(",") if k]


def fail(error: imednet_cli.ImednetCommandError) -> Exception:
    """A retryable failure for Airflow to try again; any other ends the task without retries."""
    return AirflowException(str(error)) if error.retryable else AirflowFailException(str(error))


@dag(
    dag_id="imednet_export",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-management"},
    tags=["imednet", "export"],
)
def imednet_export():
    @task(retries=3, retry_delay=timedelta(minutes=2), execution_timeout=timedelta(minutes=10))
    def discover() -> list[str]:
        try:
            return imednet_cli.discover_studies(EXCLUDE)
        except imednet_cli.ImednetCommandError as error:
            raise fail(error) from None

    @task(
        pool="imednet_api",
        retries=4,
        retry_delay=timedelta(minutes=5),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(hours=1),
        execution_timeout=timedelta(hours=3),
        max_active_tis_per_dagrun=4,
    )
    def export(study_key: str, ds: str | None = None) -> dict:
        try:
            done = imednet_cli.export_study(study_key, "parquet", f"{OUT}/{ds}/{study_key}")
        except imednet_cli.ImednetCommandError as error:
            raise fail(error) from None
        # Small and JSON: what the next task (or a person in the UI) needs to know.
        return {"study": study_key, "rows": done.get("rows"), "tables": len(done.get("tables", []))}

    export.expand(study_key=discover())


@dag(
    dag_id="imednet_job_sensor",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"study_key": "", "batch_id": ""},
    tags=["imednet", "jobs"],
)
def imednet_job_sensor():
    @task.sensor(poke_interval=30, timeout=6 * 3600, mode="reschedule", soft_fail=False)
    def job_finished(params: dict | None = None) -> PokeReturnValue:
        study_key, batch_id = params["study_key"], params["batch_id"]
        try:
            state = imednet_cli.job_state(study_key, batch_id).lower()
        except imednet_cli.ImednetCommandError as error:
            raise fail(error) from None
        return PokeReturnValue(is_done=state in imednet_cli.TERMINAL_STATES, xcom_value=state)

    @task(retries=2, retry_delay=timedelta(minutes=1))
    def outcome(params: dict | None = None) -> dict:
        # The job is over: `jobs wait` answers at once, exit 0 when it completed and 9 when it
        # failed or was cancelled (which fails this task without retries).
        try:
            return imednet_cli.wait_for_job(params["study_key"], params["batch_id"], timeout_ms=60_000)
        except imednet_cli.ImednetCommandError as error:
            raise fail(error) from None

    job_finished() >> outcome()


imednet_export()
imednet_job_sensor()
