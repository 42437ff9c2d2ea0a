"""API errors: upstream timeouts, 5xx and 4xx answers, refused connections, rate
limits and unreadable responses, as requests, axios/undici, RestTemplate and the
browser's fetch report them.

The upstream, route and status of a root cause are fixed; the ids in URLs vary.
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.catalogue.codepaths import Leaf, camel, pascal
from seed.catalogue.common import (
    FRAMEWORK_MECHANISM,
    Ctx,
    Template,
    error,
    stack,
    where,
)
from seed.catalogue.libraries import chained, java_chain
from seed.model import ExceptionSpec, LogMessage, Text

_UPSTREAMS = {
    "payments": "api.stripe.com",
    "shipping": "express.api.dhl.com",
    "notifications": "api.sendgrid.com",
    "invoices": "rest.avatax.com",
    "pricing": "rest.avatax.com",
    "search": "search.internal",
}
_INTERNAL = ("inventory-service", "fraud-service", "tax-service", "ledger-service")
_STATUS = {
    "5xx": ((502, "Bad Gateway"), (503, "Service Unavailable"), (500, "Internal Server Error")),
    "4xx": ((409, "Conflict"), (422, "Unprocessable Entity"), (404, "Not Found")),
    "429": ((429, "Too Many Requests"),),
}
_REQUESTS = (
    f.py_lib(
        "requests.sessions",
        "post",
        637,
        '        return self.request("POST", url, data=data, json=json, **kwargs)',
    ),
    f.py_lib("requests.sessions", "request", 589, "        resp = self.send(prep, **send_kwargs)"),
    f.py_lib("requests.sessions", "send", 703, "        r = adapter.send(request, **kwargs)"),
)
_AXIOS = "node_modules/axios/lib"
_REST_TEMPLATE = tuple(
    f.java(cls, method, line, in_app=False)
    for cls, method, line in (
        ("org.springframework.web.client.RestTemplate", "postForObject", 480),
        ("org.springframework.web.client.RestTemplate", "execute", 790),
        ("org.springframework.web.client.RestTemplate", "doExecute", 880),
    )
)
_SOCKET_READ = tuple(
    f.java(cls, method, line, in_app=False)
    for cls, method, line in (
        ("sun.nio.ch.NioSocketImpl", "timedRead", 288),
        ("sun.nio.ch.NioSocketImpl", "implRead", 314),
        ("java.net.Socket$SocketInputStream", "read", 1099),
    )
)
_SENTRY_FETCH = f.web(
    "node_modules/@sentry/core/build/esm/utils-hoist/instrument/fetch.js",
    "fetch",
    55,
    24,
    "      return originalFetch.apply(GLOBAL_OBJ, args).then(",
)


def _upstream(ctx: Ctx) -> tuple[str, str]:
    """(host, path) of the service this code path calls."""
    host = _UPSTREAMS.get(ctx.path.domain) or f"{ctx.pick(_INTERNAL)}:8080"
    return host, f"/v1/{ctx.path.domain}/{{id}}/{ctx.path.op.replace('_', '-')}"


def _requests_raise(line: int, source: str) -> tuple:
    """requests' frames down to the adapter that re-raises urllib3's error as its own."""
    return (*_REQUESTS, f.py_lib("requests.adapters", "send", line, f"            {source}"))


def _python_transport(ctx: Ctx, category: str):
    """urllib3 fails, requests re-raises: a timeout or a refused connection."""
    host, path = _upstream(ctx)
    gateway = f"{ctx.path.op}_{ctx.entity}"
    if category == "upstream_timeout":
        line = "        response = self.session.post(url, json=payload, timeout=10)"
        message = f"HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout=10)"
        names = ("ReadTimeoutError", "ReadTimeout")
        lib = _requests_raise(713, "raise ReadTimeout(e, request=request)")
    else:
        line = "        response = self.session.post(url, json=payload, timeout=5)"
        message = (
            f"HTTPConnectionPool(host='{host.split(':')[0]}', port=8080): "
            f"Max retries exceeded with url: {path} (Caused by NewConnectionError("
            "'<urllib3.connection.HTTPConnection object at 0x7f{hex}>: "
            "Failed to establish a new connection: [Errno 111] Connection refused'))"
        )
        names = ("NewConnectionError", "ConnectionError")
        lib = _requests_raise(700, "raise ConnectionError(e, request=request)")
    leaf = Leaf("gateway", gateway, line)
    top = FRAMEWORK_MECHANISM["python"]
    chain = (
        ExceptionSpec(names[0], message, (lib[-1],), "urllib3.exceptions", chained(0, 2, top)),
        ExceptionSpec(
            names[1], message, stack(ctx, leaf, lib), "requests.exceptions", chained(1, 2, top)
        ),
    )
    title = f"{category.replace('_', ' ')} calling {host} in {where(ctx)}"
    return error(ctx, chain, tags={"upstream": host}), title


def _python_response(ctx: Ctx, category: str, status: tuple[int, str]):
    """The upstream answered: an HTTP error status, or a body that is not JSON."""
    host, path = _upstream(ctx)
    gateway = f"{ctx.path.op}_{ctx.entity}"
    if category == "bad_response":
        leaf = Leaf("gateway", gateway, "        return response.json()")
        source = "            raise RequestsJSONDecodeError(e.msg, e.doc, e.pos)"
        raised = (f.py_lib("requests.models", "json", 978, source),)
        kind, message = "JSONDecodeError", "Expecting value: line 1 column 1 (char 0)"
        title = f"Unreadable response from {host} in {where(ctx)}"
    else:
        code, reason = status
        scheme = "http" if ":" in host else "https"
        leaf = Leaf("gateway", gateway, "        response.raise_for_status()")
        source = "            raise HTTPError(http_error_msg, response=self)"
        raised = (f.py_lib("requests.models", "raise_for_status", 1024, source),)
        side = "Server" if code >= 500 else "Client"
        kind = "HTTPError"
        message = f"{code} {side} Error: {reason} for url: {scheme}://{host}{path}"
        title = f"{host} answers {code} in {where(ctx)}"
    exc = ExceptionSpec(
        kind,
        message,
        stack(ctx, leaf, raised),
        "requests.exceptions",
        FRAMEWORK_MECHANISM["python"],
    )
    return error(ctx, (exc,), tags={"upstream": host}), title


def _python(ctx: Ctx, category: str, status: tuple[int, str]):
    if category in ("upstream_timeout", "connection_refused"):
        return _python_transport(ctx, category)
    return _python_response(ctx, category, status)


def _node(ctx: Ctx, category: str, status: tuple[int, str]):
    host, path = _upstream(ctx)
    leaf = Leaf(
        "gateway",
        f"{camel(ctx.path.op)}{pascal(ctx.entity)}",
        f"    const {{ data }} = await this.http.post(`{path.replace('{id}', '${id}')}`, payload);",
    )
    request = f.node_lib(f"{_AXIOS}/core/Axios.js", "Axios.request", 45, 41)
    if category == "upstream_timeout":
        ms = ctx.pick((5000, 10000, 15000, 30000))
        message = f"timeout of {ms}ms exceeded"
        raised = (
            request,
            f.node_lib(
                f"{_AXIOS}/adapters/http.js", "RedirectableRequest.handleRequestTimeout", 637, 16
            ),
        )
    elif category == "connection_refused":
        address = f"10.0.{ctx.rng.randint(1, 40)}.{ctx.rng.randint(2, 250)}:8080"
        message = f"connect ECONNREFUSED {address}"
        raised = (
            request,
            f.node_lib("node:net", "TCPConnectWrap.afterConnect [as oncomplete]", 1607, 16),
        )
    else:
        message = f"Request failed with status code {status[0]}"
        raised = (request, f.node_lib(f"{_AXIOS}/core/settle.js", "settle", 19, 12))
    exc = ExceptionSpec(
        "AxiosError", message, stack(ctx, leaf, raised), None, FRAMEWORK_MECHANISM["node"]
    )
    return error(ctx, (exc,), tags={"upstream": host}), f"{message} from {host} in {where(ctx)}"


def _java(ctx: Ctx, category: str, status: tuple[int, str]):
    host, path = _upstream(ctx)
    url = f"https://{host}{path}" if ":" not in host else f"http://{host}{path}"
    leaf = Leaf("client", f"{camel(ctx.path.op)}{pascal(ctx.entity)}", "")
    io_error = f'I/O error on POST request for "{url}"'
    if category == "upstream_timeout":
        chain = [
            ("java.net.SocketTimeoutException", "Read timed out"),
            (
                "org.springframework.web.client.ResourceAccessException",
                f"{io_error}: Read timed out",
            ),
        ]
        raised = _SOCKET_READ
    elif category == "connection_refused":
        chain = [
            ("java.net.ConnectException", "Connection refused"),
            (
                "org.springframework.web.client.ResourceAccessException",
                f"{io_error}: Connection refused",
            ),
        ]
        raised = (
            f.java("sun.nio.ch.Net", "pollConnect", 0, in_app=False),
            f.java("java.net.Socket", "connect", 751, in_app=False),
        )
    else:
        code, reason = status
        name = pascal(reason.lower().replace(" ", "_"))
        # Doubled braces: the body is literal JSON inside a message template.
        body = '{{"error":"' + reason.lower().replace(" ", "_") + '","request_id":"{uuid}"}}'
        chain = [(f"org.springframework.web.client.{name}", f'{code} {reason}: "{body}"')]
        raised = ()
    translated = (
        *_REST_TEMPLATE,
        f.java(
            "org.springframework.web.client.DefaultResponseErrorHandler",
            "handleError",
            142,
            in_app=False,
        ),
    )
    exceptions = java_chain(ctx, leaf, chain, raised, translated)
    return error(
        ctx, exceptions, tags={"upstream": host}
    ), f"{chain[-1][0].rsplit('.', 1)[-1]} calling {host} in {where(ctx)}"


_FETCH_NETWORK = {
    "chrome": "Failed to fetch",
    "firefox": "NetworkError when attempting to fetch resource.",
    "safari": "Load failed",
}
_FETCH_TIMEOUT = {
    "chrome": "signal timed out",
    "firefox": "The operation timed out.",
    "safari": "The operation timed out.",
}


def _browser(ctx: Ctx, category: str, status: tuple[int, str]):
    api_path = f"/api/{ctx.path.domain}/{{id}}/{ctx.path.op.replace('_', '-')}"
    function = f"{camel(ctx.path.op)}{pascal(ctx.entity)}"
    mechanism = {"type": "auto.browser.global_handlers.onunhandledrejection", "handled": False}
    message: Text
    if category in ("connection_refused", "upstream_timeout"):
        leaf = Leaf(
            "api",
            function,
            "  const response = await fetch(url, { method, body, signal: timeoutSignal() });",
        )
        kind, message = (
            ("TypeError", _FETCH_NETWORK)
            if category == "connection_refused"
            else ("TimeoutError", _FETCH_TIMEOUT)
        )
        exc = ExceptionSpec(kind, message, stack(ctx, leaf, (_SENTRY_FETCH,)), None, mechanism)
        title = f"{kind} fetching {api_path} in {where(ctx)}"
    else:
        code, reason = status
        leaf = Leaf(
            "api", function, "    throw new ApiError(response.status, response.statusText, path);"
        )
        message = f"Request failed with status {code} ({reason}): {ctx.path.method} {api_path}"
        exc = ExceptionSpec("ApiError", message, stack(ctx, leaf), None, mechanism)
        title = f"{ctx.path.method} {api_path} answers {code} in {where(ctx)}"
    return error(ctx, (exc,)), title


_BUILDERS = {"python": _python, "node": _node, "java": _java, "javascript": _browser}


def _template(category: str, statuses: str | None = None):
    def build(ctx: Ctx):
        status = ctx.pick(_STATUS[statuses]) if statuses else (0, "")
        return _BUILDERS[ctx.platform](ctx, category, status)

    return build


def log_message(ctx: Ctx):
    """A logged failure without an exception: grouped on the message template."""
    host, _ = _upstream(ctx)
    what = f"{ctx.path.op.replace('_', ' ')} {ctx.entity.replace('_', ' ')}"
    if ctx.platform == "python":
        log = LogMessage(
            f"{what}: {host} answered HTTP %s after %sms (attempt %s of 3)", ("n", "ms", "attempt")
        )
        return error(
            ctx, (), log=log, logger=f"{ctx.path.domain}.gateway"
        ), f"Logged upstream failure in {where(ctx)}"
    message = f"{what} webhook to {{url}} failed with status {{n}} after {{ms}}ms"
    return error(
        ctx, (), message=message, level="warning"
    ), f"Captured message about a webhook in {where(ctx)}"


_ALL = ("python", "node", "java", "javascript")
TEMPLATES = (
    Template("api", "upstream_timeout", "high", _ALL, _template("upstream_timeout"), weight=1.4),
    Template("api", "http_5xx", "high", _ALL, _template("http_5xx", "5xx"), weight=1.3),
    Template("api", "http_4xx", "medium", _ALL, _template("http_4xx", "4xx")),
    Template(
        "api", "connection_refused", "critical", _ALL, _template("connection_refused"), weight=0.8
    ),
    Template("api", "rate_limited", "medium", _ALL, _template("rate_limited", "429"), weight=0.6),
    Template("api", "bad_response", "medium", ("python",), _template("bad_response"), weight=0.6),
    Template("api", "logged_failure", "medium", ("python", "node"), log_message, weight=0.7),
)
