"""The simulated control plane's state: datasets, batch jobs and their clock-driven state machine.

A job's state is computed from the time since it was created (no background task): each phase
before and after RUNNING lasts ``step_seconds``, RUNNING lasts ``request_seconds`` per request, so
tests pick a speed that finishes in a fraction of a second and still see every state. Results are
made when a job first reads as finished, by the same generator as chat completions. Faults are
configured per store (``configure``) and apply to the jobs created afterwards.

Dataset files live on disk (a temporary folder per store), and are read and written a line at a
time, so a job of hundreds of megabytes costs the simulator disk, not memory.
"""

from __future__ import annotations

import bisect
import copy
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .batch_files import scan_input, write_results

__all__ = ["PHASES", "BatchStore", "Dataset", "Job", "StoreError"]

PHASES = ("CREATING", "VALIDATING", "PENDING", "RUNNING", "WRITING_RESULTS", "COMPLETED")
ENDED = frozenset({"COMPLETED", "FAILED", "EXPIRED", "CANCELLED"})
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
OUTCOMES = frozenset({"COMPLETED", "FAILED", "EXPIRED"})

DEFAULT_BATCH_CONFIG: dict[str, Any] = {
    "step_seconds": 0.05,  # CREATING, VALIDATING, PENDING and WRITING_RESULTS each last this long
    "request_seconds": 0.0002,  # RUNNING lasts this long per request
    "fail_match": None,  # requests whose custom_id contains this fail (into the error file)
    "outcome": "COMPLETED",  # or FAILED (after VALIDATING) or EXPIRED (after PENDING)
    "drop_download_after": None,  # the next download is cut after this many bytes (once)
    "no_batch_models": [],  # short model names without batch support
    "accounts": None,  # accounts the key may use (None: any); others get 403
    "answer_words": None,  # pad every batch answer to this many words (large result files, for bench/)
}


class StoreError(Exception):
    """A request the control plane refuses: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Dataset:
    account: str
    dataset_id: str
    example_count: int = 0
    files: dict[str, Path] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    @property
    def state(self) -> str:
        return "READY" if self.files else "UPLOADING"

    def resource(self) -> dict[str, Any]:
        return {
            "name": f"accounts/{self.account}/datasets/{self.dataset_id}",
            "state": self.state,
            "format": "CHAT",
            "exampleCount": str(self.example_count),
            "createTime": _stamp(self.created),
        }


@dataclass
class Job:
    account: str
    job_id: str
    body: dict[str, Any]
    source: Path  # the input file: one request per non-blank line
    total: int  # requests in it
    failing: list[int]  # positions of the requests scripted to fail (ascending)
    config: dict[str, Any]
    started: float = field(default_factory=time.monotonic)
    created: float = field(default_factory=time.time)
    cancelled_at: float | None = None
    results_written: bool = False

    def phase(self, now: float) -> tuple[str, float]:
        """The state at `now` and the fraction of requests processed."""
        if self.cancelled_at is not None:
            return "CANCELLED", self._fraction(self.cancelled_at)
        step = self.config["step_seconds"]
        elapsed = now - self.started
        outcome = self.config["outcome"]
        if outcome == "FAILED" and elapsed >= 2 * step:
            return "FAILED", 0.0
        if outcome == "EXPIRED" and elapsed >= 3 * step:
            return "EXPIRED", 0.0
        bounds = [step, 2 * step, 3 * step, 3 * step + self._running(), 4 * step + self._running()]
        for name, bound in zip(PHASES, bounds, strict=False):
            if elapsed < bound:
                return name, self._fraction(now)
        return "COMPLETED", 1.0

    def _running(self) -> float:
        return float(self.total * self.config["request_seconds"])

    def _fraction(self, now: float) -> float:
        start = self.started + 3 * self.config["step_seconds"]
        running = self._running()
        if now <= start:
            return 0.0
        return 1.0 if running <= 0 else min(1.0, (now - start) / running)

    def resource(self, now: float) -> dict[str, Any]:
        state, fraction = self.phase(now)
        total = self.total
        done = total if state == "COMPLETED" else int(total * fraction)
        failed = bisect.bisect_left(self.failing, done)
        out: dict[str, Any] = {
            "name": f"accounts/{self.account}/batchInferenceJobs/{self.job_id}",
            "displayName": self.body.get("displayName", ""),
            "createTime": _stamp(self.created),
            "updateTime": _stamp(time.time()),
            "state": f"JOB_STATE_{state}",
            "status": {"code": "OK", "message": ""},
            "model": self.body["model"],
            "inputDatasetId": self.body["inputDatasetId"],
            "outputDatasetId": self.body["outputDatasetId"],
            "inferenceParameters": self.body.get("inferenceParameters", {}),
            "jobProgress": {
                "percent": round(100 * (1.0 if state == "COMPLETED" else fraction)),
                "totalInputRequests": total,
                "totalProcessedRequests": done,
                "successfullyProcessedRequests": done - failed,
                "failedRequests": failed,
                "inputTokens": 12 * done,
                "cachedInputTokenCount": 4 * done,
                "outputTokens": 20 * (done - failed),
            },
        }
        if state == "FAILED":
            out["status"] = {"code": "INVALID_ARGUMENT", "message": "the input dataset failed validation"}
        elif state == "EXPIRED":
            out["status"] = {"code": "DEADLINE_EXCEEDED", "message": "the job did not finish within 24 hours"}
        elif state == "CANCELLED":
            out["status"] = {"code": "CANCELLED", "message": "the job was cancelled"}
        return out


class BatchStore:
    """Thread-safe: tests configure and inspect it from their thread while uvicorn serves it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config: dict[str, Any] = copy.deepcopy(DEFAULT_BATCH_CONFIG)
        self.datasets: dict[tuple[str, str], Dataset] = {}
        self.jobs: dict[tuple[str, str], Job] = {}
        self.signed: dict[str, tuple[str, str, str]] = {}  # token -> (account, dataset, filename)
        self.downloads: list[dict[str, Any]] = []  # what the signed path received
        self._folder: Path | None = None

    def reset(self) -> None:
        with self._lock:
            self.config = copy.deepcopy(DEFAULT_BATCH_CONFIG)
            self.datasets.clear()
            self.jobs.clear()
            self.signed.clear()
            self.downloads.clear()
            folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def new_file(self) -> Path:
        """A fresh path in the store's folder (created on first use, removed by `reset`)."""
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="fw-sim-batch-"))
            return self._folder / secrets.token_hex(8)

    def configure(self, **values: Any) -> dict[str, Any]:
        """Change fault and speed settings for jobs created from now on.

        Raises:
            ValueError: an unknown key or a bad value.
        """
        for key, value in values.items():
            if key not in DEFAULT_BATCH_CONFIG:
                raise ValueError(f"unknown batch config key {key!r}; known: {sorted(DEFAULT_BATCH_CONFIG)}")
            if key == "outcome" and value not in OUTCOMES:
                raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
            if key in ("step_seconds", "request_seconds") and not (
                isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            ):
                raise ValueError(f"{key} must be a number of seconds >= 0")
        with self._lock:
            self.config.update(copy.deepcopy(values))
            return copy.deepcopy(self.config)

    # -- datasets ------------------------------------------------------------------------
    def create_dataset(self, account: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("datasetId"), str):
            raise StoreError(400, "datasetId is required")
        dataset_id = body["datasetId"]
        _check_id(dataset_id, "datasetId")
        spec = body.get("dataset") or {}
        with self._lock:
            if (account, dataset_id) in self.datasets:
                raise StoreError(409, f"dataset {dataset_id} already exists")
            ds = Dataset(account, dataset_id, int(spec.get("exampleCount") or 0))
            self.datasets[(account, dataset_id)] = ds
            return ds.resource()

    def dataset(self, account: str, dataset_id: str) -> Dataset:
        with self._lock:
            ds = self.datasets.get((account, dataset_id))
        if ds is None:
            raise StoreError(404, f"dataset accounts/{account}/datasets/{dataset_id} not found")
        return ds

    def upload(self, account: str, dataset_id: str, filename: str, path: Path) -> dict[str, Any]:
        """Make the file at `path` (in the store's folder, see `new_file`) the dataset's content."""
        ds = self.dataset(account, dataset_id)
        with path.open("rb") as fh:
            count = sum(1 for line in fh if line.strip())
        with self._lock:
            ds.files = {filename: path}
            ds.example_count = count
            return ds.resource()

    def download_urls(self, account: str, dataset_id: str, root: str) -> dict[str, Any]:
        self._finish_jobs(time.monotonic())
        ds = self.dataset(account, dataset_id)
        with self._lock:
            urls = {}
            for name in ds.files:
                token = secrets.token_urlsafe(16)
                self.signed[token] = (account, dataset_id, name)
                urls[name] = f"{root}/signed/{token}/{name}"
            return {"filenameToSignedUrls": urls}

    def signed_file(self, token: str) -> Path | None:
        with self._lock:
            where = self.signed.get(token)
            if where is None:
                return None
            ds = self.datasets.get(where[:2])
            return None if ds is None else ds.files.get(where[2])

    def take_drop(self) -> int | None:
        """The byte count at which to cut this download, consumed (a drop happens once)."""
        with self._lock:
            cut = self.config["drop_download_after"]
            self.config["drop_download_after"] = None
            return cut if isinstance(cut, int) else None

    # -- jobs ----------------------------------------------------------------------------
    def create_job(self, account: str, job_id: str | None, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StoreError(400, "the body must be a JSON object")
        for key in ("model", "inputDatasetId", "outputDatasetId"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise StoreError(400, f"{key} is required")
        if unknown := set(body) - _JOB_FIELDS:
            raise StoreError(400, f"Extra inputs are not permitted: {', '.join(sorted(unknown))}")
        job_id = job_id or f"job-{secrets.token_hex(6)}"
        _check_id(job_id, "batchInferenceJobId")
        model = body["model"].rsplit("/", 1)[-1]
        if model in self.config["no_batch_models"]:
            raise StoreError(400, f"model {body['model']} does not support batch inference")
        source = self.dataset(account, _short(body["inputDatasetId"]))
        config = copy.deepcopy(self.config)
        if not source.files:
            raise StoreError(400, f"dataset {source.dataset_id} has no uploaded file")
        path = next(iter(source.files.values()))
        try:
            total, failing = scan_input(path, config["fail_match"])
        except ValueError as exc:
            raise StoreError(400, str(exc)) from None
        with self._lock:
            if (account, job_id) in self.jobs:
                raise StoreError(409, f"batch inference job {job_id} already exists")
            job = Job(account, job_id, dict(body), path, total, failing, config)
            self.jobs[(account, job_id)] = job
        return job.resource(time.monotonic())

    def job(self, account: str, job_id: str) -> dict[str, Any]:
        now = time.monotonic()  # one instant: a job read as COMPLETED has its results written
        self._finish_jobs(now)
        with self._lock:
            job = self.jobs.get((account, job_id))
            if job is None:
                raise StoreError(
                    404, f"batch inference job accounts/{account}/batchInferenceJobs/{job_id} not found"
                )
            return job.resource(now)

    def list_jobs(self, account: str) -> dict[str, Any]:
        now = time.monotonic()
        self._finish_jobs(now)
        with self._lock:
            jobs = [j for (a, _), j in self.jobs.items() if a == account]
            jobs.sort(key=lambda j: j.created, reverse=True)
            return {"batchInferenceJobs": [j.resource(now) for j in jobs], "totalSize": len(jobs)}

    def delete_job(self, account: str, job_id: str) -> dict[str, Any]:
        """A running job becomes CANCELLED (and stays readable); an ended one is removed."""
        with self._lock:
            job = self.jobs.get((account, job_id))
            if job is None:
                raise StoreError(404, f"batch inference job {job_id} not found")
            now = time.monotonic()
            if job.phase(now)[0] in ENDED:
                del self.jobs[(account, job_id)]
            else:
                job.cancelled_at = now
        return {}

    def _finish_jobs(self, now: float) -> None:
        """Write the output files of every job that reads as COMPLETED at `now` and has none yet."""
        with self._lock:
            ready = [
                j for j in self.jobs.values() if not j.results_written and j.phase(now)[0] == "COMPLETED"
            ]
            for job in ready:
                job.results_written = True
        for job in ready:
            files = write_results(job, self.new_file(), self.new_file())
            with self._lock:
                key = (job.account, _short(job.body["outputDatasetId"]))
                ds = self.datasets.setdefault(key, Dataset(*key))
                ds.files.update(files)


_JOB_FIELDS = frozenset(
    {"displayName", "model", "inputDatasetId", "outputDatasetId", "inferenceParameters", "precision",
     "continuedFromJobName"}
)  # fmt: skip


def _short(dataset: str) -> str:
    """`accounts/a/datasets/x` or `x` -> `x`."""
    return dataset.rsplit("/", 1)[-1]


def _check_id(value: str, what: str) -> None:
    if not _ID.fullmatch(value):
        raise StoreError(400, f"{what} must be 1-63 lowercase letters, digits or hyphens, got {value!r}")


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
