"""The seed summary says what was sent, accepted, sampled away and stored."""

from __future__ import annotations

from collections import Counter

from rich.console import Console

from seed.summary import Tally, print_summary


def rendered(tally: Tally, title: str) -> list[list[str]]:
    console = Console(record=True, width=200)
    print_summary(console, tally, title)
    return [
        [cell.strip() for cell in line.replace("┃", "│").split("│")[1:-1]]
        for line in console.export_text().splitlines()
        if line.startswith(("│", "┃"))
    ]


def test_over_http_the_totals_separate_accepted_from_sampled_away_and_stored():
    tally = Tally()
    for project, sent in (("shop", 12_000), ("api", 8_000)):
        tally.add(project, "python", "sent", sent)
        tally.add(project, "python", "accepted", sent)
    tally.relay = Counter({"accepted": 6_162, "sampled": 13_838})
    rows = rendered(tally, "seed over HTTP")
    assert rows[0] == [
        "project",
        "family",
        "sent",
        "accepted",
        "sampled away",
        "stored",
        "rejected",
    ]
    assert ["api", "python", "8,000", "8,000", "·", "·", "0"] in rows
    assert rows[-1] == ["total", "", "20,000", "20,000", "13,838", "6,162", "0"]
    assert "(all projects): sampled away 13,838, stored 6,162" in printed(tally)


def printed(tally: Tally) -> str:
    console = Console(record=True, width=200)
    print_summary(console, tally, "seed")
    return console.export_text()


def test_direct_loads_store_what_they_accept_per_project():
    tally = Tally()
    tally.add("shop", "python", "sent", 10)
    tally.add("shop", "python", "accepted", 9)
    tally.add("shop", "python", "stored", 9)
    tally.add("shop", "python", "rejected", 1)
    rows = rendered(tally, "seed --direct")
    assert ["shop", "python", "10", "9", "0", "9", "1"] in rows
    assert rows[-1] == ["total", "", "10", "9", "0", "9", "1"]
