"""The Fireworks wire format: request models that refuse unknown fields, responses that accept new ones."""

from fw_mcp.fireworks.wire.base import ControlPlaneRequest, WireRequest, WireResponse
from fw_mcp.fireworks.wire.chat import (
    AssistantMessage,
    ChatMessage,
    ChatRequest,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    JsonSchemaFormat,
    JsonSchemaSpec,
    NamedToolChoice,
    ResponseFormat,
    SystemMessage,
    TextPart,
    ToolCallOut,
    ToolChoice,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from fw_mcp.fireworks.wire.embeddings import Embedding, EmbeddingsRequest, EmbeddingsResponse
from fw_mcp.fireworks.wire.models import ModelCard, ModelList
from fw_mcp.fireworks.wire.rerank import RerankRequest, RerankResponse, RerankResult

__all__ = [
    "AssistantMessage",
    "ChatMessage",
    "ChatRequest",
    "ControlPlaneRequest",
    "Embedding",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "FunctionCall",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "JsonSchemaFormat",
    "JsonSchemaSpec",
    "ModelCard",
    "ModelList",
    "NamedToolChoice",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "ResponseFormat",
    "SystemMessage",
    "TextPart",
    "ToolCallOut",
    "ToolChoice",
    "ToolDefinition",
    "ToolMessage",
    "UserMessage",
    "WireRequest",
    "WireResponse",
]
