"""A small OTLP/HTTP trace receiver on loopback (Starlette under uvicorn), for end-to-end span tests."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fw_mcp.simulator.server import _Server, bind_socket, uvicorn_config


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    kind: int
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    attributes: dict[str, Any]
    service: str


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(x) for x in v.array_value.values)
    return getattr(v, kind) if kind else None


class OtlpReceiver:
    """`with OtlpReceiver() as r:` listens on 127.0.0.1:<free port>; spans land in `r.spans`."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.changed = threading.Condition()
        app = Starlette(routes=[Route("/v1/traces", self._traces, methods=["POST"])])
        self._server = _Server(uvicorn_config(app))  # type: ignore[arg-type]
        self._sock = bind_socket("127.0.0.1", 0)
        self.endpoint = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])), daemon=True
        )

    async def _traces(self, request: Request) -> Response:
        export = ExportTraceServiceRequest.FromString(await request.body())
        got = []
        for resource_spans in export.resource_spans:
            attrs = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    got.append(
                        ReceivedSpan(
                            span.name,
                            span.kind,
                            span.trace_id,
                            span.span_id,
                            span.parent_span_id,
                            attributes,
                            str(attrs.get("service.name")),
                        )
                    )
        with self.changed:
            self.spans += got
            self.changed.notify_all()
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    def wait_for(self, n: int, timeout: float = 20.0) -> list[ReceivedSpan]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.spans) >= n, timeout):
                raise TimeoutError(f"{len(self.spans)} spans arrived, not {n}")
            return list(self.spans)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        if not self._server.ready.wait(10):
            raise RuntimeError("the OTLP receiver did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
