"""SDK-shaped pieces of events, per platform: frames, timestamps, SDK info, contexts,
modules, breadcrumbs. Key names and value formats follow what each SDK sends
(compare with the recordings under fixtures/envelopes/).
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from seed.model import Frame
from seed.projects import SeedProject

WEB_ORIGIN = "https://shop.example.com"


_DAYS: dict[int, str] = {}


def iso_timestamp(moment: float, digits: int = 6) -> str:
    """RFC 3339 in UTC: sentry-python sends microseconds, sentry-java milliseconds."""
    whole = int(moment)
    day, seconds = divmod(whole, 86_400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    scale = 10**digits
    fraction = min(scale - 1, int((moment - whole) * scale))
    return f"{date}T{hours:02d}:{minutes:02d}:{secs:02d}.{fraction:0{digits}d}Z"


def sdk_timestamp(platform: str, moment: float) -> Any:
    if platform == "python":
        return iso_timestamp(moment)
    if platform == "java":
        return iso_timestamp(moment, 3)
    # Milliseconds, as JavaScript's Date.now() / 1000 gives them.
    return int(moment * 1000) / 1000


_CONTEXT_LINES = {
    "python": (
        "    log.debug('%s started', __name__)",
        "    if not instance:",
        "        raise NotFound()",
        "    try:",
        "    except ObjectDoesNotExist:",
        "    return result",
        "",
    ),
    "node": (
        "  const span = Sentry.getActiveSpan();",
        "  if (!input) {",
        "    throw new NotFoundError(id);",
        "  }",
        "  try {",
        "  } finally {",
        "  return result;",
    ),
    "javascript": (
        "  const { t } = useTranslation();",
        "  if (!data) return null;",
        "  try {",
        "  } catch (error) {",
        "  setLoading(false);",
        "  return result;",
        "",
    ),
}


def _context(platform: str, frame: Frame) -> tuple[list[str], list[str]]:
    """A few surrounding lines, the same for a frame in every event (it is the same code)."""
    pool = _CONTEXT_LINES.get(platform)
    if not pool or frame.context_line is None:
        return [], []
    start = zlib.crc32(frame.function.encode()) % len(pool)
    lines = [pool[(start + i) % len(pool)] for i in range(4)]
    return lines[:2], lines[2:]


def python_frame(frame: Frame, lineno: int, variables: dict | None) -> dict[str, Any]:
    pre, post = list(frame.pre_context), list(frame.post_context)
    if not pre and frame.in_app:
        pre, post = _context("python", frame)
    out: dict[str, Any] = {
        "filename": frame.filename,
        "abs_path": frame.abs_path,
        "function": frame.function,
        "module": frame.module,
        "lineno": lineno,
        "pre_context": pre,
        "context_line": frame.context_line,
        "post_context": post,
    }
    if variables:
        out["vars"] = variables
    if frame.in_app:
        out["in_app"] = True
    return out


def node_frame(frame: Frame, lineno: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filename": frame.filename,
        "module": frame.module,
        "function": frame.function,
        "lineno": lineno,
        "colno": frame.colno,
        "in_app": frame.in_app,
    }
    if frame.context_line is not None:
        pre, post = _context("node", frame)
        out.update(pre_context=pre, context_line=frame.context_line, post_context=post)
    return out


def java_frame(frame: Frame, lineno: int, module: str) -> dict[str, Any]:
    out: dict[str, Any] = {"filename": frame.filename, "function": frame.function, "module": module}
    if lineno > 0:
        out["lineno"] = lineno
    out["native"] = False
    out["in_app"] = frame.in_app
    return out


def web_frame(frame: Frame, lineno: int, sourcemap: str) -> dict[str, Any]:
    """A browser frame as stored after source maps were applied to the SDK's report
    (with the source line the map resolved; the lines around it are left out)."""
    out: dict[str, Any] = {
        "filename": frame.filename,
        "abs_path": frame.abs_path,
        "module": frame.module,
        "function": frame.function,
        "lineno": lineno,
        "colno": frame.colno,
    }
    if frame.context_line is not None:
        out["context_line"] = frame.context_line
    out["in_app"] = frame.in_app
    out["data"] = {"sourcemap": sourcemap, "resolved_with": "release", "symbolicated": True}
    return out


def minified_frame(url: str, function: str, colno: int, in_app: bool) -> dict[str, Any]:
    """The same frame as the browser SDK sent it: a bundle URL, a mangled name, a column."""
    return {
        "filename": url,
        "abs_path": url,
        "function": function,
        "lineno": 1 if colno < 90_000 else 2,
        "colno": colno,
        "in_app": in_app,
    }


def sdk_info(project: SeedProject) -> dict[str, Any]:
    return {
        "name": project.sdk_name,
        "version": project.sdk_version,
        "packages": [{"name": project.sdk_package, "version": project.sdk_version}],
        "integrations": list(project.integrations),
    }


_PYTHON_MODULES = {
    "django": "5.1.4",
    "djangorestframework": "3.15.2",
    "celery": "5.4.0",
    "psycopg": "3.2.3",
    "psycopg-pool": "3.2.4",
    "redis": "5.2.1",
    "requests": "2.32.3",
    "urllib3": "2.2.3",
    "pydantic": "2.9.2",
    "gunicorn": "23.0.0",
    "sentry-sdk": "2.19.2",
    "boto3": "1.35.76",
    "stripe": "11.3.0",
}
_NODE_MODULES = {
    "@sentry/node": "10.78.0",
    "express": "4.21.2",
    "@prisma/client": "5.22.0",
    "pg": "8.13.1",
    "axios": "1.7.9",
    "zod": "3.24.1",
    "bullmq": "5.34.2",
    "ioredis": "5.4.1",
}


def fixed_contexts(project: SeedProject) -> dict[str, dict[str, Any]]:
    """Contexts an SDK adds to every event of a service (runtime, OS, device)."""
    if project.platform == "python":
        build = "3.12.7 (main, Oct 19 2024, 04:15:48) [GCC 12.2.0]"
        return {"runtime": {"name": "CPython", "version": "3.12.7", "build": build}}
    if project.platform == "node":
        return {
            "runtime": {"name": "node", "version": "v20.18.1"},
            "os": {"kernel_version": "6.1.0-28-cloud-amd64", "name": "Debian", "version": "12.8"},
            "device": {"arch": "x64", "processor_count": 4, "memory_size": 8_348_389_376},
            "culture": {"locale": "en-US", "timezone": "UTC"},
        }
    if project.platform == "java":
        return {
            "runtime": {"name": "OpenJDK Runtime Environment", "version": "21.0.5+11-LTS"},
            "os": {"name": "Linux", "version": "6.1.0-28-cloud-amd64"},
        }
    return {}


def modules(project: SeedProject) -> dict[str, str] | None:
    return {"python": _PYTHON_MODULES, "node": _NODE_MODULES}.get(project.platform)


_HEALTH_CHECK = {
    "type": "http",
    "category": "http",
    "data": {"method": "GET", "url": "http://inventory-service:8080/health", "status_code": 200},
}


def _browser_crumbs(domain: str, entity: str) -> list[dict[str, Any]]:
    fetch = {"method": "GET", "url": f"/api/{domain}", "status_code": 200}
    return [
        {"category": "navigation", "data": {"from": "/", "to": f"/{domain}"}},
        {"category": "ui.click", "message": f"button.{entity}-row > span"},
        {"type": "http", "category": "fetch", "data": fetch},
        {"category": "ui.click", "message": f"button#{entity}-submit.btn.btn-primary"},
        {"category": "console", "level": "warning", "message": f"[{domain}] slow render: 212ms"},
    ]


def _python_crumbs(domain: str, entity: str) -> list[dict[str, Any]]:
    table = f'"{domain}_{entity}"'
    return [
        {"type": "default", "category": "query", "message": f'SELECT {table}."id" FROM {table}'},
        {**_HEALTH_CHECK, "category": "httplib"},
        {"type": "log", "level": "info", "category": f"{domain}.services", "message": entity},
    ]


def _node_crumbs(domain: str, entity: str) -> list[dict[str, Any]]:
    return [
        _HEALTH_CHECK,
        {"category": "console", "level": "log", "message": f"[{domain}] handling request"},
        {"category": "query", "message": f"SELECT * FROM {domain}_{entity} WHERE id = $1"},
    ]


def _java_crumbs(domain: str, entity: str) -> list[dict[str, Any]]:
    tax = {"method": "POST", "url": "https://rest.avatax.com/api/v2/transactions/create"}
    return [
        {
            "type": "default",
            "category": f"com.acme.billing.{domain}",
            "message": f"Loading {entity}",
        },
        {"type": "http", "category": "http", "data": {**tax, "status_code": 201}},
    ]


_CRUMBS = {
    "javascript": _browser_crumbs,
    "python": _python_crumbs,
    "node": _node_crumbs,
    "java": _java_crumbs,
}


def breadcrumb_templates(platform: str, domain: str, entity: str) -> list[dict[str, Any]]:
    """What usually happened just before, for one code path (the same in each of its events)."""
    return _CRUMBS[platform](domain, entity)
