"""OpenTelemetry: a CLIENT span per Fireworks request, under the MCP SDK's `tools/call` span.

Attributes follow the GenAI semantic conventions. Only `opentelemetry-api` is a dependency: without
an SDK every span is a no-op. `pip install "fw-mcp[otel]"` adds the SDK and the OTLP/HTTP exporter,
and `setup_tracing()` then exports as the standard `OTEL_*` variables say. Prompt and answer text go
into spans only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is on; the key never does.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

__all__ = ["CAPTURE_ENV", "FireworksSpan", "capture_content", "fireworks_span", "setup_tracing"]

logger = logging.getLogger(__name__)
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CAPTURE_ON = {"true", "1", "yes", "span_only", "span_and_event"}
_tracer = trace.get_tracer("fw-mcp")


def capture_content() -> bool:
    """The standard GenAI content-capture switch (off by default)."""
    return os.environ.get(CAPTURE_ENV, "").strip().lower() in _CAPTURE_ON


class FireworksSpan:
    """Fills in one request's span as the answer comes back."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def answered(
        self,
        *,
        model: str,
        finish_reason: str | None,
        input_tokens: int,
        output_tokens: int,
        cached_tokens: int,
        attempts: int | None,
        cost_usd: float | None,
        output_text: str | None = None,
    ) -> None:
        if not self.span.is_recording():
            return
        attributes: dict[str, Any] = {
            "gen_ai.response.model": model,
            "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": output_tokens,
            "gen_ai.usage.cache_read.input_tokens": cached_tokens,
        }
        if attempts is not None:
            attributes["fw_mcp.attempts"] = attempts
        if finish_reason:
            attributes["gen_ai.response.finish_reasons"] = [finish_reason]
        if cost_usd is not None:
            attributes["fw_mcp.cost.usd"] = cost_usd
        if output_text is not None and capture_content():
            attributes["gen_ai.output.messages"] = json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": output_text}]}]
            )
        self.span.set_attributes(attributes)

    def failed(self, error: BaseException) -> None:
        if not self.span.is_recording():
            return
        attempts = getattr(error, "attempts", None)
        self.span.set_attribute("error.type", _error_type(error))
        if isinstance(attempts, int):
            self.span.set_attribute("fw_mcp.attempts", attempts)
        self.span.set_status(StatusCode.ERROR, type(error).__name__)


@contextmanager
def fireworks_span(
    operation: str,
    *,
    model: str,
    base_url: str,
    max_tokens: int | None,
    messages: list[dict[str, Any]] | None = None,
) -> Iterator[FireworksSpan]:
    """A CLIENT span `"{operation} {model}"` around one Fireworks request (retries included).

    While no tracer provider is set (the API's default, without the `otel` extra or OTEL_* variables)
    every span is a no-op: none is started, and no attribute is computed, on every call's path.
    """
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        recorder = FireworksSpan(trace.INVALID_SPAN)
        try:
            yield recorder
        except BaseException as exc:
            recorder.failed(exc)
            raise
        return
    host = urlsplit(base_url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "fireworks",
        "gen_ai.request.model": model,
        "server.address": host.hostname or "",
    }
    if host.port:
        attributes["server.port"] = host.port
    if max_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = max_tokens
    if messages is not None and capture_content():
        attributes["gen_ai.input.messages"] = json.dumps(messages, default=str)
    with _tracer.start_as_current_span(
        f"{operation} {model}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        recorder = FireworksSpan(span)
        try:
            yield recorder
        except BaseException as exc:
            recorder.failed(exc)
            raise


def _error_type(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    return str(status) if isinstance(status, int) else type(error).__qualname__


def setup_tracing() -> Callable[[], None] | None:
    """Export spans when the `otel` extra is installed and an OTEL_* variable asks for it.

    Returns the function that flushes and stops the exporter at shutdown, or None when nothing was set up.
    """
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    wanted = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if wanted == "none" or not (endpoint or wanted):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning(
            'OTEL_* variables are set but the exporter is not installed: pip install "fw-mcp[otel]".'
        )
        return None
    if wanted not in ("", "otlp"):
        logger.warning("OTEL_TRACES_EXPORTER=%s: fw-mcp exports over OTLP/HTTP only; using otlp.", wanted)
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "fw-mcp"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider.shutdown
