"""ClickHouse's HTTP interface over the embedded engine (chdb), for one machine.

chdb lets one process own a data folder. Serving it over ClickHouse's HTTP
protocol lets several relay and worker processes on one machine share it, with
the same client code (clickhouse-connect over `http://`) that a real ClickHouse
server gets. It speaks the subset clickhouse-connect uses: `query` in the URL or
the body, `database`, `default_format`, settings and `param_*` bound parameters
as URL parameters or (large ones) a multipart form, INSERT data in the body
(optionally compressed), errors as 500 with the exception text and
`X-ClickHouse-Exception-Code`.

Run it with `just clickhouse` (or `python -m stackwise clickhouse`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import uuid
from email import policy as email_policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import chdb

log = logging.getLogger(__name__)

# URL parameters that steer the HTTP layer, not the query.
_TRANSPORT_PARAMETERS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "session_id",
        "session_timeout",
        "session_check",
        "query_id",
        "compress",
        "decompress",
        "wait_end_of_query",
        "client_protocol_version",
        "buffer_size",
        "user",
        "password",
        "quota_key",
        "enable_http_compression",
        "http_headers_progress_interval_ms",
        "send_progress_in_http_headers",
        "role",
    }
)
_INSERT_WITH_FORMAT = re.compile(
    r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*;?\s*$", re.I | re.S
)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)
_ERROR_CODE = re.compile(r"Code:\s*(\d+)")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _decode_body(body: bytes, encoding: str | None) -> bytes:
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        import gzip

        return gzip.decompress(body)
    if encoding == "deflate":
        import zlib

        return zlib.decompress(body)
    if encoding == "br":
        import brotli

        return brotli.decompress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.decompress(body)
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def _form_fields(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of a multipart/form-data body (query, param_*, settings)."""
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode() if isinstance(payload, bytes) else ""
    return fields


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ChdbHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, data_path: str, address: tuple[str, int]) -> None:
        self.data_path = os.path.realpath(data_path)
        # The owner handle keeps the engine open for the server's lifetime.
        self.engine = chdb.connect(self.data_path)
        self.spool_dir = tempfile.mkdtemp(prefix="chdb-http-")
        super().__init__(address, _Handler)

    def execute(
        self, sql: str, *, database: str | None, settings: dict[str, str], params: dict, fmt: str
    ) -> tuple[bytes, dict]:
        connection = chdb.connect(self.data_path)
        try:
            if database:
                connection.query(f"USE `{database}`")
            for name, value in settings.items():
                if _SETTING_NAME.match(name):
                    connection.query(f"SET {name} = {_quote(value)}")
            result = (
                connection.query(sql, fmt, params=params) if params else connection.query(sql, fmt)
            )
            summary = {
                "read_rows": str(result.rows_read()),
                "read_bytes": str(result.bytes_read()),
                "written_rows": str(getattr(result, "rows_written", lambda: 0)()),
                "written_bytes": str(getattr(result, "bytes_written", lambda: 0)()),
                "elapsed_ns": str(int(result.elapsed() * 1e9)),
            }
            return bytes(result.bytes() or b""), summary
        finally:
            connection.close()

    def server_close(self) -> None:
        super().server_close()
        with contextlib.suppress(Exception):
            self.engine.close()
        with contextlib.suppress(OSError):
            os.rmdir(self.spool_dir)


class _Handler(BaseHTTPRequestHandler):
    server: ChdbHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/ping" or (url.path == "/" and "query=" not in url.query):
            self._reply(200, b"Ok.\n", {"Content-Type": "text/plain"})
            return
        self._handle(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else self._read_chunked()
        self._handle(body)

    def _read_chunked(self) -> bytes:
        if "chunked" not in (self.headers.get("Transfer-Encoding") or ""):
            return b""
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _handle(self, body: bytes) -> None:
        parameters = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        try:
            body = _decode_body(body, self.headers.get("Content-Encoding"))
            content_type = self.headers.get("Content-Type") or ""
            if content_type.startswith("multipart/form-data"):
                # clickhouse-connect sends a query with large bound parameters as a form.
                parameters.update(_form_fields(body, content_type))
                body = b""
            sql, data_file, fmt = self._statement(parameters, body)
            try:
                output, summary = self.server.execute(
                    sql,
                    database=parameters.get("database"),
                    settings={
                        k: v
                        for k, v in parameters.items()
                        if k not in _TRANSPORT_PARAMETERS and not k.startswith("param_")
                    },
                    params={k[6:]: v for k, v in parameters.items() if k.startswith("param_")},
                    fmt=fmt,
                )
            finally:
                if data_file:
                    os.unlink(data_file)
        except Exception as e:
            message = str(e)
            code = _ERROR_CODE.search(message)
            self._reply(
                500,
                message.encode(),
                {"X-ClickHouse-Exception-Code": code.group(1) if code else "1002"},
            )
            return
        self._reply(
            200,
            output,
            {
                "X-ClickHouse-Summary": json.dumps(summary),
                "X-ClickHouse-Format": fmt,
                "X-ClickHouse-Timezone": "UTC",
                "X-ClickHouse-Server-Display-Name": "stackwise-chdb",
                "X-ClickHouse-Query-Id": parameters.get("query_id") or uuid.uuid4().hex,
            },
        )

    def _statement(self, parameters: dict[str, str], body: bytes) -> tuple[str, str | None, str]:
        """The SQL to run, a temp file holding INSERT data (if any), and the output format."""
        default_format = parameters.get("default_format") or "TabSeparated"
        if "query" not in parameters:
            sql = body.decode()
            body = b""
        else:
            sql = parameters["query"]
        insert = _INSERT_WITH_FORMAT.match(sql)
        if insert and body:
            handle, path = tempfile.mkstemp(dir=self.server.spool_dir)
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            return (
                f"{insert.group(1)} FROM INFILE {_quote(path)} FORMAT {insert.group(2)}",
                path,
                default_format,
            )
        if body:
            sql = f"{sql}\n{body.decode()}"
        trailing = _TRAILING_FORMAT.search(sql)
        if trailing:
            return sql[: trailing.start()], None, trailing.group(1)
        return sql, None, default_format

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_in_background(data_path: str, host: str, port: int) -> ChdbHttpServer:
    """Serve from a daemon thread of this process (which must hold, or share, the engine)."""
    server = ChdbHttpServer(data_path, (host, port))
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="chdb-http", daemon=True
    ).start()
    log.info(
        "ClickHouse (chdb) at %s also on http://%s:%d", data_path, host, server.server_address[1]
    )
    return server


def serve(data_path: str, host: str, port: int, ready: threading.Event | None = None) -> None:
    server = ChdbHttpServer(data_path, (host, port))
    log.info("ClickHouse (chdb) at %s serving http://%s:%d", data_path, host, port)
    if ready is not None:
        ready.set()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
