"""What embed, rerank and search share: one tool call's way to Fireworks' embeddings and rerank.

Many texts are split into requests within the API's limits (`[embeddings] batch_size`), sent at once
(the client's concurrency limit queues any excess), and put back in input order. A failed request
fails the whole call (a vector list with a hole is never presented as complete): the requests still
in flight are cancelled, as they are when the call itself is cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from fw_mcp.errors import FireworksError, FireworksTransportError, FwMcpError
from fw_mcp.fireworks.client import CallOptions
from fw_mcp.fireworks.events import ClientEvent
from fw_mcp.fireworks.wire import EmbeddingsRequest, EmbeddingsResponse, RerankRequest, RerankResponse
from fw_mcp.spend.budget import Hold
from fw_mcp.spend.meter import Account, Answered, Meter, current_account, estimate_text_tokens
from fw_mcp.spend.prices import Tokens
from fw_mcp.tools.progress import describe_event
from fw_mcp.tools.runtime import api_key_of, identity_of, runtime_of

__all__ = ["Embedded", "Progress", "Upstream", "rerank_ceiling", "with_cost"]

logger = logging.getLogger(__name__)
_STATUS_STEP = 1e-6  # a status message (retrying, waiting) moves progress on without counting texts
_HOLD_GRACE = 60.0  # a hold outlives its call's deadline by this much, then expires (a crashed process)
_PAIR_OVERHEAD = 128  # tokens a reranker's template adds around each query-document pair, at most


def rerank_ceiling(query: str, documents: Sequence[str]) -> int:
    """An upper bound of a rerank request's prompt tokens: the query is read once per document."""
    return estimate_text_tokens(documents, _PAIR_OVERHEAD) + len(query.encode()) * len(documents)


def with_cost(line: str) -> str:
    """An account line `[...]` with the running call's cost in it, after any note (no price, ...)."""
    account = current_account()
    if account is None:
        return line
    spent = account.cost_text()
    if spent and line.endswith("]"):
        line = f"{line[:-1]} · cost: {spent}]"
    return "\n".join([*account.notes(), line])


class Progress:
    """Progress to the host as texts are embedded ("1,536 of 10,000 texts"), and the client's events
    (retrying, waiting for a slot) in words, with strictly increasing values; `fw-mcp call`'s watcher
    also hears the events. Notifications are serialised, so concurrent requests cannot reorder them."""

    def __init__(self, ctx: Context[Any, Any], total: int, what: str) -> None:
        self._ctx = ctx
        self._watcher = runtime_of(ctx).watcher
        self._total, self._what = total, what
        self._done = 0
        self._value = 0.0
        self._lock = anyio.Lock()

    async def add(self, n: int) -> None:
        await self._send(None, n)

    async def event(self, event: ClientEvent) -> None:
        if (message := describe_event(event)) is not None:
            await self._send(message, 0)
        if self._watcher is not None:
            await self._watcher.on_event(event)

    async def _send(self, status: str | None, n: int) -> None:
        async with self._lock:
            self._done += n
            message = status or f"{self._done:,} of {self._total:,} {self._what}"
            self._value = float(self._done) if n else self._value + _STATUS_STEP
            try:
                await self._ctx.report_progress(self._value, self._total, message)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                logger.debug("progress notification dropped: the stream to the host is closed")


@dataclass
class Embedded:
    """Vectors in input order, with what they cost."""

    vectors: list[list[float]]
    model: str
    prompt_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0

    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "total_tokens": self.total_tokens}


class Upstream:
    """One tool call's access to Fireworks: the process's client, the caller's key, one deadline."""

    def __init__(self, ctx: Context[Any, Any]) -> None:
        runtime = runtime_of(ctx)
        self.settings = runtime.settings
        self._client = runtime.client
        self._api_key = api_key_of(ctx)
        self.deadline = anyio.current_time() + self.settings.timeouts.total
        account = current_account() or Account()
        self.meter = Meter(  # every request is metered, as chat's are (fw_mcp.spend.meter)
            runtime.spend,
            tool=account.tool,
            user=identity_of(ctx) or "",
            fallbacks=[],  # another embeddings model's vectors would not compare with these
            base_url=self.settings.base_url,
            ttl=lambda: max(self.deadline - anyio.current_time(), 0.0) + _HOLD_GRACE,
            account=account,
        )

    def _options(self, progress: Progress | None) -> CallOptions:
        on_event = progress.event if progress is not None else None
        return CallOptions(api_key=self._api_key, deadline=self.deadline, on_event=on_event)

    async def embed(
        self,
        texts: Sequence[str],
        model: str,
        *,
        dimensions: int | None = None,
        normalize: bool | None = None,
        progress: Progress | None = None,
    ) -> Embedded:
        """Vectors for `texts`, in order, from as many concurrent requests as the batch size needs.
        Every request's maximum cost is held before any is sent; each settles its own.

        Raises:
            FireworksError: a request failed (after its retries); nothing partial is returned.
            BudgetExceeded: the requests could cross a spend limit (nothing was sent).
        """
        size = self.settings.embeddings.batch_size
        batches = [list(texts[at : at + size]) for at in range(0, len(texts), size)]
        out = Embedded([[] for _ in texts], model, requests=len(batches))
        failures: list[tuple[int, FwMcpError]] = []
        holds = await self._reserve_all(model, [estimate_text_tokens(b) for b in batches])

        options = self._options(progress)

        async def run(number: int, batch: list[str], scope: anyio.CancelScope) -> None:
            request = EmbeddingsRequest(input=batch, model=model, dimensions=dimensions, normalize=normalize)
            try:
                answer = await self.meter.complete(
                    holds[number],
                    "embeddings",
                    model,
                    lambda: self._client.embeddings(request, options=options),
                    lambda got: _answered(got.model, got.usage.prompt_tokens, model),
                )
                _place(out, answer, number * size, len(batch), self.settings.base_url)
            except FwMcpError as exc:
                failures.append((number, exc))
                scope.cancel()  # the other requests stop: their vectors would be thrown away
                return
            if progress is not None:
                await progress.add(len(batch))

        async with anyio.create_task_group() as tg:
            for number, batch in enumerate(batches):
                tg.start_soon(run, number, batch, tg.cancel_scope)
        if failures:
            number, error = min(failures, key=lambda f: f[0])
            raise _batch_failed(error, number, len(batches), size, len(texts))
        return out

    async def _reserve_all(self, model: str, prompts: list[int]) -> list[Hold]:
        """One hold per request, all before any is sent; a refusal drops the ones already made."""
        holds: list[Hold] = []
        try:
            for prompt in prompts:
                holds.append(await self.meter.reserve(model, prompt))
        except BaseException:
            for hold in holds:
                await self.meter.release(hold)
            raise
        return holds

    async def reserve_rerank(self, model: str, prompt_tokens: int) -> Hold:
        """Hold a rerank's maximum cost ahead of other requests (search: before its embeddings)."""
        return await self.meter.reserve(model, prompt_tokens)

    async def rerank(
        self, query: str, documents: Sequence[str], model: str, top_n: int | None, hold: Hold | None = None
    ) -> RerankResponse:
        """Documents ordered by relevance to `query`, best first (one request), metered; `hold` is its
        reservation when one was made ahead (see `reserve_rerank`).

        Raises:
            FireworksError: the request failed (after its retries), or the answer was malformed.
            BudgetExceeded: the request could cross a spend limit (nothing was sent).
        """
        request = RerankRequest(
            model=model, query=query, documents=list(documents), top_n=top_n, return_documents=False
        )
        if hold is None:
            hold = await self.meter.reserve(model, rerank_ceiling(query, documents))
        answer = await self.meter.complete(
            hold,
            "rerank",
            model,
            lambda: self._client.rerank(request, options=self._options(None)),
            lambda got: _answered(got.model, got.usage.prompt_tokens, model),
        )
        if any(not 0 <= r.index < len(documents) for r in answer.data):
            raise FireworksTransportError(
                "the rerank answer named a document that was not sent", self.settings.base_url
            )
        return answer


def _answered(response_model: str, prompt_tokens: int, model: str) -> Answered:
    """Embeddings and rerank bill input tokens only, priced as the model asked for (the one held)."""
    return Answered(model=model, tokens=Tokens(prompt=prompt_tokens), response_model=response_model)


def _place(out: Embedded, answer: EmbeddingsResponse, start: int, count: int, base_url: str) -> None:
    """Put one batch's vectors at their input positions, refusing an answer that does not fit."""
    if sorted(item.index for item in answer.data) != list(range(count)):
        raise FireworksTransportError(
            f"the embeddings answer held {len(answer.data)} vectors for {count} texts", base_url
        )
    for item in answer.data:
        out.vectors[start + item.index] = item.embedding
    out.model = answer.model or out.model
    out.prompt_tokens += answer.usage.prompt_tokens
    out.total_tokens += answer.usage.total_tokens


def _batch_failed(error: FwMcpError, number: int, batches: int, size: int, total: int) -> Exception:
    """The first failure, saying which texts it was for and that no vectors are returned."""
    if batches == 1 or not isinstance(error, FireworksError):
        return error
    first, last = number * size, min((number + 1) * size, total) - 1
    return ToolError(
        f"{error}\nRequest {number + 1} of {batches} (texts {first}-{last}) failed, so the other requests "
        "were stopped and no vectors are returned."
    )
