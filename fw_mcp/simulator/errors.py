"""Error responses the simulator can send, copied from the shared wire vectors.

The bodies are embedded here (not read from ``shared/vectors/errors.json``) because only the
package is shipped; a test keeps the two in step. The ``code`` values are illustrative: real
deployments vary them, which is why clients must decide by status and message instead.
"""

from __future__ import annotations

import copy
from typing import Any

ERROR_VECTORS: dict[str, dict[str, Any]] = {
    "401_invalid_key": {
        "status": 401,
        "body": {
            "error": {
                "object": "error",
                "type": "invalid_request_error",
                "code": "invalid_request_error",
                "message": "The API key you provided is invalid.",
            }
        },
    },
    "404_model": {
        "status": 404,
        "body": {
            "error": {
                "object": "error",
                "type": "invalid_request_error",
                "code": "NOT_FOUND",
                "message": "Model not found, inaccessible, and/or not deployed",
            }
        },
    },
    "400_bad_value": {
        "status": 400,
        "body": {
            "error": {
                "object": "error",
                "type": "invalid_request_error",
                "code": 400,
                "message": "logprobs must be between 0 and 5: 20",
            }
        },
    },
    "400_unknown_field": {
        "status": 400,
        "body": {
            "error": {
                "object": "error",
                "type": "invalid_request_error",
                "code": "invalid_request_error",
                "message": "Extra inputs are not permitted, field: 'promptCacheKey'",
            }
        },
    },
    "400_rate_limit_in_disguise": {
        "status": 400,
        "body": {
            "error": {
                "object": "error",
                "type": "invalid_request_error",
                "code": "invalid_request_error",
                "message": "rate limit exceeded, please try again later",
            }
        },
    },
    "429_envelope": {
        "status": 429,
        "headers": {"x-ratelimit-over-limit": "yes", "retry-after": "2"},
        "body": {
            "error": {
                "object": "error",
                "type": "rate_limit_error",
                "code": "rate_limit_exceeded",
                "message": "Request rate limit exceeded",
            }
        },
    },
    "429_flat": {
        "status": 429,
        "body": {
            "error": "Too Many Requests",
            "message": "You have exceeded your usage limits. Please try again later.",
        },
    },
    "503_overloaded": {
        "status": 503,
        "body": {
            "error": {
                "object": "error",
                "type": "internal_server_error",
                "code": "service_unavailable",
                "message": "Service Overloaded",
            }
        },
    },
    "502_html": {
        "status": 502,
        "content_type": "text/html",
        "body_text": "<html><body><h1>502 Bad Gateway</h1></body></html>",
    },
}


def error_vector(name: str) -> dict[str, Any]:
    """Return a private copy of the named vector, so a caller's edits never leak into the table.

    Raises:
        KeyError: when ``name`` is not one of ``ERROR_VECTORS``.
    """
    return copy.deepcopy(ERROR_VECTORS[name])


def invalid_request(message: str, code: str | int = "invalid_request_error") -> dict[str, Any]:
    """Build the envelope Fireworks uses for a 400: the shape clients parse for every error."""
    return {
        "error": {
            "object": "error",
            "type": "invalid_request_error",
            "code": code,
            "message": message,
        }
    }


def server_error(status: int, message: str) -> dict[str, Any]:
    """Build an envelope for a scripted status that came without a body of its own."""
    kind = "internal_server_error" if status >= 500 else "invalid_request_error"
    if status == 429:
        kind = "rate_limit_error"
    return {"error": {"object": "error", "type": kind, "code": str(status), "message": message}}
