"""`python -m workers.grouping FILE [--rules R] [--stacktrace-rules S]`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.grouping.factories import expected_hash
from workers.grouping.__main__ import main

EVENTS = [
    {"message": "Order 17 failed"},
    {
        "platform": "python",
        "exception": {"values": [{"type": "DatabaseUnavailable", "value": "db down"}]},
    },
]


@pytest.fixture
def events_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in EVENTS) + "\n\n")
    return path


def test_one_json_line_per_event_with_hash_variant_and_explanation(events_file, capsys):
    assert main([str(events_file)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["hash"] for line in lines] == [
        expected_hash("Order <int> failed"),
        expected_hash("DatabaseUnavailable", "db down"),
    ]
    assert [line["variant"] for line in lines] == ["default", "system"]
    assert lines[0]["explanation"]["variants"][0]["component"]["children"][0]["id"] == "message"


def test_rules_files_are_applied(events_file, tmp_path, capsys):
    rules = tmp_path / "fingerprint.rules"
    rules.write_text('error.type:DatabaseUnavailable -> system-down title="System down"\n')
    stack_rules = tmp_path / "stack.rules"
    stack_rules.write_text("module:vendor.* -app\n")
    main([str(events_file), "--rules", str(rules), "--stacktrace-rules", str(stack_rules)])
    second = json.loads(capsys.readouterr().out.splitlines()[1])
    assert (second["hash"], second["title"]) == (expected_hash("system-down"), "System down")
    assert second["fingerprint_rule"].startswith("error.type:DatabaseUnavailable")


def test_invalid_rules_exit_2_naming_file_line_and_column(events_file, tmp_path, capsys):
    rules = tmp_path / "bad.rules"
    rules.write_text("# header\nerror.type:X system-down\n")
    with pytest.raises(SystemExit) as caught:
        main([str(events_file), "--rules", str(rules)])
    assert caught.value.code == 2
    assert capsys.readouterr().err.strip() == f"{rules}: line 2, column 14: expected '->'"


def test_module_runs_as_a_program_reading_stdin():
    completed = subprocess.run(
        [sys.executable, "-m", "workers.grouping", "-", "--no-explain"],
        input=json.dumps(EVENTS[0]) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    line = json.loads(completed.stdout)
    assert (line["hash"], line["explanation"]) == (expected_hash("Order <int> failed"), None)


def test_v2_is_the_default_and_v1_stays_available(events_file, capsys):
    main([str(events_file), "--no-explain"])
    default = [json.loads(line)["version"] for line in capsys.readouterr().out.splitlines()]
    main([str(events_file), "--no-explain", "--version", "v1"])
    pinned = [json.loads(line)["version"] for line in capsys.readouterr().out.splitlines()]
    assert (default, pinned) == (["v2", "v2"], ["v1", "v1"])


NATIVE_CRASH = {
    "platform": "native",
    "exception": {
        "values": [
            {
                "type": "SIGABRT",
                "value": "Abort",
                "mechanism": {"type": "signalhandler", "synthetic": True},
                "stacktrace": {
                    "frames": [
                        {"function": "main", "package": "/opt/app/bin/app", "filename": "main.c"},
                        {"function": "abort", "package": "/usr/lib/x86_64-linux-gnu/libc.so.6"},
                        {"function": "raise", "package": "/usr/lib/x86_64-linux-gnu/libc.so.6"},
                    ]
                },
            }
        ]
    },
}


def test_explain_draws_the_tree_with_rules_and_categories(tmp_path, capsys):
    path = tmp_path / "crash.jsonl"
    path.write_text(json.dumps(NATIVE_CRASH) + "\n")
    assert main([str(path), "--explain"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}:1: ")
    assert "✓ function 'abort'" in out
    assert (
        "✗ category 'throw' (set by stack trace rule (family:native function:abort category=throw))"
        in out
    )
    assert "✗ frame (ignored by stack trace rule (category:throw ^-group))" in out
    rule = "family:native package:/usr/lib/** -app"
    assert f"✗ in-app 'no' (marked out of app by stack trace rule ({rule}))" in out


def test_a_line_that_is_not_a_json_object_stops_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text('{"message": "first"}\n[1, 2]\n{"message": "third"}\n')
    assert main([str(path), "--no-explain"]) == 2
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert captured.err == f"{path}:2: not a JSON object (a JSON list)\n"


def test_skip_invalid_reports_bad_lines_and_goes_on(tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text('{"message": "first"}\n{"message": \n{"message": "third"}\n')
    assert main([str(path), "--no-explain", "--skip-invalid"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["title"] for line in captured.out.splitlines()] == ["first", "third"]
    assert captured.err.startswith(f"{path}:2: not a JSON object (")


def test_an_event_may_carry_rules_as_sentrys_grouping_test_inputs_do(tmp_path, capsys):
    event = dict(NATIVE_CRASH, _grouping={"enhancements": "family:native function:main -group"})
    event["_fingerprinting_rules"] = [
        {
            "matchers": [["type", "SIGABRT"], ["!value", "Segfault"]],
            "fingerprint": ["aborts"],
            "attributes": {},
        }
    ]
    plain = tmp_path / "plain.jsonl"
    plain.write_text(
        json.dumps(
            dict(NATIVE_CRASH, _grouping={"enhancements": "family:native function:main -group"})
        )
        + "\n"
    )
    both = tmp_path / "both.jsonl"
    both.write_text(json.dumps(event) + "\n")
    main([str(plain), "--no-explain"])
    main([str(both), "--no-explain"])
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["hash"] == expected_hash("abort")
    assert (second["hash"], second["fingerprint_rule"]) == (
        expected_hash("aborts"),
        'type:"SIGABRT" !value:"Segfault" -> "aborts"',
    )
