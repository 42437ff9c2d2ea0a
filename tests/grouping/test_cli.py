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
