"""The simulated control plane's routes (`/v1/accounts/{account}/...`) and its signed download path.

Datasets (create, upload as multipart, get, getDownloadEndpoint), batch inference jobs (create, get,
list, delete) and model metadata (`batchInferenceSupported`, camelCase as every control-plane field). Download URLs point at `/signed/...`,
which stands for the storage host of real signed URLs: it refuses any request that carries an
`Authorization` header (the Fireworks key must never go there) and honours `Range: bytes=N-`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, BinaryIO

from .batch_store import BatchStore, StoreError
from .errors import error_vector, invalid_request
from .exchange import Exchange, ScriptedDrop

__all__ = ["CONTROL_PREFIX", "SIGNED_PREFIX", "serve_control_plane", "serve_signed"]

CONTROL_PREFIX = "/v1/accounts/"
SIGNED_PREFIX = "/signed/"
_ROUTE = re.compile(
    r"/v1/accounts/(?P<account>[^/]+)/(?P<kind>datasets|batchInferenceJobs|models)(?:/(?P<rest>.+))?"
)
_RANGE = re.compile(r"bytes=(\d+)-$")
_SLICE = 256 * 1024


async def serve_control_plane(ex: Exchange, store: BatchStore, api_keys: list[str] | None) -> None:
    """Answer one control-plane request (the caller has read nothing yet). An upload's body is
    written to disk as it arrives; every other body is read whole (they are small JSON)."""
    headers = ex.headers()
    upload = ex.scope["method"] == "POST" and ex.scope["path"].endswith(":upload")
    raw = b"" if upload else await ex.read_body()
    if raw is None:
        return
    scheme, _, key = headers.get("authorization", "").partition(" ")
    if (
        scheme.lower() != "bearer"
        or not key.strip()
        or (api_keys is not None and key.strip() not in api_keys)
    ):
        vector = error_vector("401_invalid_key")
        await ex.send_json(vector["status"], vector["body"])
        return
    try:
        if upload:
            status, answer = await _upload(ex, store, headers)
        else:
            status, answer = _route(ex, store, raw, headers)
    except StoreError as exc:
        await ex.send_json(
            exc.status, invalid_request(exc.message, _CODES.get(exc.status, "INVALID_ARGUMENT"))
        )
        return
    await ex.send_json(status, answer)


_CODES = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}


def _route(ex: Exchange, store: BatchStore, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    match = _ROUTE.fullmatch(ex.scope["path"])
    if match is None:
        raise StoreError(404, f"Not found: {ex.scope['path']}")
    account, kind, rest = match["account"], match["kind"], match["rest"]
    allowed = store.config.get("accounts")
    if allowed is not None and account not in allowed:
        raise StoreError(403, f"the key has no access to account {account}")
    method = ex.scope["method"]
    if kind == "models" and rest and method == "GET":
        return 200, _model(account, rest, store)
    if kind == "datasets":
        return _datasets(ex, store, account, rest, method, raw, headers)
    if kind == "batchInferenceJobs":
        return _jobs(ex, store, account, rest, method, raw)
    raise StoreError(404, f"Not found: {ex.scope['path']}")


def _datasets(
    ex: Exchange,
    store: BatchStore,
    account: str,
    rest: str | None,
    method: str,
    raw: bytes,
    headers: dict[str, str],
) -> tuple[int, Any]:
    if rest is None and method == "POST":
        return 200, store.create_dataset(account, _json(raw))
    if rest is None:
        raise StoreError(404, "listing datasets is not simulated")
    dataset_id, _, verb = rest.partition(":")
    if verb == "getDownloadEndpoint" and method == "GET":
        return 200, store.download_urls(account, dataset_id, _root(ex, headers))
    if not verb and method == "GET":
        return 200, store.dataset(account, dataset_id).resource()
    raise StoreError(404, f"Not found: {method} {ex.scope['path']}")


def _jobs(
    ex: Exchange, store: BatchStore, account: str, rest: str | None, method: str, raw: bytes
) -> tuple[int, Any]:
    if rest is None and method == "POST":
        job_id = _query(ex).get("batchInferenceJobId")
        return 200, store.create_job(account, job_id, _json(raw))
    if rest is None and method == "GET":
        return 200, store.list_jobs(account)
    if rest is not None and method == "GET":
        return 200, store.job(account, rest)
    if rest is not None and method == "DELETE":
        return 200, store.delete_job(account, rest)
    raise StoreError(404, f"Not found: {method} {ex.scope['path']}")


def _model(account: str, name: str, store: BatchStore) -> dict[str, Any]:
    from .catalogue import MODELS

    if name not in MODELS:
        raise StoreError(404, f"model accounts/{account}/models/{name} not found")
    return {
        "name": f"accounts/{account}/models/{name}",
        "displayName": name,
        "state": "READY",
        "batchInferenceSupported": name not in store.config["no_batch_models"],
    }


async def _upload(ex: Exchange, store: BatchStore, headers: dict[str, str]) -> tuple[int, Any]:
    """`POST .../datasets/{id}:upload`: the multipart body to disk, then its `file` part as the data."""
    match = _ROUTE.fullmatch(ex.scope["path"])
    if match is None or match["kind"] != "datasets" or not match["rest"]:
        raise StoreError(404, f"Not found: {ex.scope['path']}")
    account, dataset_id = match["account"], match["rest"].partition(":")[0]
    allowed = store.config.get("accounts")
    if allowed is not None and account not in allowed:
        raise StoreError(403, f"the key has no access to account {account}")
    store.dataset(account, dataset_id)  # 404 before the body is stored
    content_type = headers.get("content-type", "")
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or boundary is None:
        raise StoreError(400, "the upload must be multipart/form-data with a file part")
    raw = store.new_file()
    try:
        with raw.open("wb") as out:
            async for chunk in ex.body_chunks():
                out.write(chunk)
        dest = store.new_file()
        filename = _file_part(raw, boundary[1].encode("latin-1"), dest)
    finally:
        raw.unlink(missing_ok=True)
    return 200, store.upload(account, dataset_id, filename, dest)


def _file_part(raw: Path, boundary: bytes, dest: Path) -> str:
    """Copy the `file` part of the multipart body in `raw` to `dest` (a slice at a time); its filename."""
    delimiter = b"--" + boundary
    with raw.open("rb") as fh:
        at = _find(fh, delimiter, 0)
        while at != -1:
            head_end = _find(fh, b"\r\n\r\n", at)
            end = _find(fh, b"\r\n" + delimiter, head_end + 4) if head_end != -1 else -1
            if end == -1:
                break
            fh.seek(at)
            disposition = fh.read(min(head_end - at, 64 * 1024)).decode("latin-1")
            if 'name="file"' in disposition:
                fh.seek(head_end + 4)
                with dest.open("wb") as out:
                    left = end - head_end - 4
                    while left > 0 and (chunk := fh.read(min(_SLICE, left))):
                        out.write(chunk)
                        left -= len(chunk)
                filename = re.search(r'filename="([^"]*)"', disposition)
                return filename[1] if filename else "input.jsonl"
            at = end + 2
    raise StoreError(400, "the multipart body has no part named file")


def _find(fh: BinaryIO, pattern: bytes, start: int) -> int:
    """The offset of `pattern` in the file at or after `start`, or -1; reads a slice at a time."""
    fh.seek(start)
    carried, offset = b"", start
    while chunk := fh.read(_SLICE):
        window = carried + chunk
        if (found := window.find(pattern)) != -1:
            return offset - len(carried) + found
        carried = window[-(len(pattern) - 1) :] if len(pattern) > 1 else b""
        offset += len(chunk)
    return -1


async def serve_signed(ex: Exchange, store: BatchStore) -> None:
    """A download from a signed URL: no Authorization allowed, `Range: bytes=N-` honoured; the file
    is sent a slice at a time (a scripted drop cuts the connection after so many bytes)."""
    if await ex.read_body() is None:
        return
    headers = ex.headers()
    token = ex.scope["path"][len(SIGNED_PREFIX) :].split("/", 1)[0]
    store.downloads.append({"authorization": "authorization" in headers, "range": headers.get("range")})
    if "authorization" in headers:
        body = (
            b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>"
        )
        await ex.send_bytes(400, body, "application/xml")
        return
    path = store.signed_file(token)
    if path is None or ex.scope["method"] != "GET":
        await ex.send_bytes(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        return
    size = path.stat().st_size
    start, status, extra = 0, 200, {"accept-ranges": "bytes"}
    if (wanted := _RANGE.fullmatch(headers.get("range", ""))) is not None:
        start = min(int(wanted[1]), size)
        status = 206
        extra["content-range"] = f"bytes {start}-{size - 1}/{size}"
    cut = store.take_drop()
    cut = cut if cut is not None and cut < size - start else None
    all_headers = {"content-type": "application/jsonl", "content-length": str(size - start), **extra}
    if not await ex.start(status, all_headers.items()):
        return
    sent = 0
    with path.open("rb") as fh:
        fh.seek(start)
        while chunk := fh.read(_SLICE):
            if cut is not None and sent + len(chunk) >= cut:
                if await ex.write(chunk[: cut - sent]):
                    raise ScriptedDrop(f"download dropped after {cut} bytes")
                return
            if not await ex.write(chunk):
                return
            sent += len(chunk)
    await ex.end()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise StoreError(400, "Request body is not valid JSON") from None


def _query(ex: Exchange) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(ex.scope.get("query_string", b"").decode("latin-1")))


def _root(ex: Exchange, headers: dict[str, str]) -> str:
    return f"{ex.scope.get('scheme', 'http')}://{headers.get('host', 'localhost')}"
