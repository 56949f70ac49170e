"""Report document downloads, like Amazon's pre-signed S3 URLs: no auth header, a signature
and a five-minute expiry in the query, gzip bytes in the body, S3's XML errors."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import numpy as np

from amzinsight_sandbox.config import DOCUMENT_FAULT_KINDS
from amzinsight_sandbox.documents import render_document
from amzinsight_sandbox.routing import ApiError, ApiFamily, Request, Response, Router
from amzinsight_sandbox.state import SandboxState

DOWNLOAD_PATH = "/sandbox-s3/report-documents"
URL_LIFETIME_SECONDS = 300


def s3_error(error: ApiError) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{error.message}</Message></Error>"
    )
    return Response(error.status, body.encode("utf-8"), content_type="application/xml")


DOCUMENT_STORE = ApiFamily(name="document-store", render_error=s3_error)


def _signature(state: SandboxState, document_id: str, expires: int) -> str:
    message = f"{document_id}:{expires}".encode()
    return hmac.new(state.signing_key, message, hashlib.sha256).hexdigest()


def signed_download_url(state: SandboxState, document_id: str, path: str = DOWNLOAD_PATH) -> str:
    """An absolute URL on this server that works without credentials for five minutes."""
    expires = int(time.time()) + URL_LIFETIME_SECONDS
    query = urlencode(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
            "X-Amz-Expires": str(URL_LIFETIME_SECONDS),
            "X-Sandbox-Expires-At": str(expires),
            "X-Amz-Signature": _signature(state, document_id, expires),
        }
    )
    return f"{state.base_url}{path}/{document_id}?{query}"


def verify_download(state: SandboxState, request: Request, document_id: str) -> None:
    """S3's answers to a URL that was not signed here or has expired."""
    expires_text = request.query_value("X-Sandbox-Expires-At") or "0"
    signature = request.query_value("X-Amz-Signature") or ""
    expires = int(expires_text) if expires_text.isdigit() else 0
    if not hmac.compare_digest(signature, _signature(state, document_id, expires)):
        raise ApiError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    if time.time() > expires:
        raise ApiError(403, "AccessDenied", "Request has expired")


def break_download(
    state: SandboxState, response: Response, report_type: str | None, seller_id: str
) -> Response:
    """Apply an injected download fault (truncated, corrupt or slow) to a document's bytes."""
    body = response.body
    fault = state.take_fault(DOCUMENT_FAULT_KINDS, "download", report_type, seller_id)
    if fault is not None and fault.kind == "truncated_document":
        response.body = body[: len(body) // 2]
    elif fault is not None and fault.kind == "corrupt_document":
        noise = np.random.default_rng(len(body)).integers(0, 256, max(len(body), 64))
        response.body = b"\x00" + noise.astype(np.uint8).tobytes()[1:]  # no gzip or zlib header
    elif fault is not None:
        response.trickle_seconds = max(fault.delay_seconds, 0.0)
    return response


def download_document(state: SandboxState, _account: object, request: Request) -> Response:
    document_id = request.path_params["documentId"]
    verify_download(state, request, document_id)
    with state.lock:
        report_id = state.documents.get(document_id)
        record = state.reports.get(report_id) if report_id else None
    if record is None:
        raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
    account = state.accounts[record.seller_id]

    cached = state.cached_document(document_id)
    if cached is None:
        content, content_type = render_document(account, record)
        compressed = gzip.compress(content, mtime=0)
        state.cache_document(document_id, compressed, content_type)
    else:
        compressed, content_type = cached

    response = Response(200, compressed, content_type=content_type)
    return break_download(state, response, record.report_type, record.seller_id)


def register(router: Router) -> None:
    router.add(
        "GET", f"{DOWNLOAD_PATH}/{{documentId}}", "download", download_document, DOCUMENT_STORE
    )
