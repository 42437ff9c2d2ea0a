"""The issue page's stack trace: the raised exception first, application frames before
library ones, the source lines around each frame, everything from the event escaped."""

from __future__ import annotations

import msgspec
import polars as pl

from core.event.stacktrace import frame_context, frame_rows
from stackwise.ui.issues import LIST_SCHEMA
from stackwise.ui.views import issue_table, stack_trace


def _event() -> bytes:
    def frame(function: str, in_app: bool, **more) -> dict:
        return {"function": function, "filename": f"{function}.py", "in_app": in_app, **more}

    cause = {"type": "KeyError", "stacktrace": {"frames": [frame("lookup", True)]}}
    raised = {
        "type": "CheckoutError",
        "stacktrace": {
            "frames": [
                frame("run_loop", False),
                frame(
                    "checkout",
                    True,
                    pre_context=["one", "    two", "    three", "    if four:"],
                    context_line="        total = <b>price</b>",
                    post_context=["    after"],
                ),
                frame("charge", True),
            ]
        },
    }
    return msgspec.json.encode({"exception": {"values": [cause, raised]}})


def test_frame_context_keeps_the_nearest_lines_of_each_frame():
    context = frame_context(_event(), lines=3)
    pre, line, post = context[(1, 1)]
    assert list(context) == [(1, 1)]
    assert (pre, line, post) == (
        ["    two", "    three", "    if four:"],
        "        total = <b>price</b>",
        ["    after"],
    )
    assert frame_context(b"not json") == {}


def test_the_stack_trace_starts_with_the_raised_exception_and_its_own_frames():
    payload = _event()
    html = stack_trace(frame_rows(payload), [], frame_context(payload))
    assert html.index("CheckoutError") < html.index("KeyError")
    # Most recent call first; the library frame folded away after the application's.
    assert html.index("charge") < html.index("checkout") < html.index("library frames")
    assert html.index("library frames") < html.index("run_loop")
    assert "total = &lt;b&gt;price&lt;/b&gt;" in html and "<b>price</b>" not in html
    # The shared indentation goes, the frame's own line keeps its extra level.
    assert "<span class='near'>two</span>" in html
    assert "<b>    total = &lt;b&gt;price&lt;/b&gt;</b>" in html
    assert html.index("two") < html.index("total =") < html.index("after")
    assert "one" not in html


def test_the_issue_table_escapes_titles_and_links_each_issue():
    row = dict.fromkeys(LIST_SCHEMA) | {
        "id": 7,
        "project": "shop",
        "title": "<script>alert(1)</script>",
        "culprit": "x",
        "level": "error",
        "status": "unresolved",
        "substatus": "new",
        "times_seen": 1200,
        "users_seen": 3,
    }
    html = issue_table(pl.DataFrame([row], schema=LIST_SCHEMA))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "href='?issue=7'" in html and "1,200" in html
    assert "No issues match" in issue_table(pl.DataFrame([], schema=LIST_SCHEMA))
