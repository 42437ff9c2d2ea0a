"""The framework's ceiling: a Sanic handler that reads the body and answers like the relay."""

from __future__ import annotations

import sys

from sanic import Request, Sanic
from sanic.response import json

app = Sanic("bare", configure_logging=False)
app.config.ACCESS_LOG = False
app.config.REQUEST_MAX_SIZE = 40 * 1024 * 1024
app.config.KEEP_ALIVE_TIMEOUT = 75


@app.post("/api/<project_id:int>/envelope", strict_slashes=False)
async def envelope(request: Request, project_id: int):
    body = request.body
    return json({"id": "0" * 32 if body else ""})


@app.get("/healthz")
async def healthz(request: Request):
    return json({"status": "ok"})


if __name__ == "__main__":
    app.run(
        host="127.0.0.1", port=int(sys.argv[1]), single_process=True, access_log=False, motd=False
    )
