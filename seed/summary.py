"""What a seed run did: events per project and family, retries, throughput; and the
rich progress bar both delivery modes show."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

# Per project and family: what the seeder sent, what the relay answered 200 for, what it
# then sampled away and what it stored, what it refused.
COLUMNS = ("sent", "accepted", "sampled away", "stored", "rejected")


@dataclass
class Tally:
    # (project, family, outcome) -> events
    counts: Counter = field(default_factory=Counter)
    # "429", "503", "network" -> retried requests; rejection reason -> events
    retries: Counter = field(default_factory=Counter)
    rejections: Counter = field(default_factory=Counter)
    # What the relay says it did with the events (HTTP mode): accepted, sampled, ...
    relay: Counter = field(default_factory=Counter)
    # The relay's counts when the run started (HTTP mode), to subtract.
    relay_before: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def add(self, project: str, family: str, outcome: str, count: int = 1) -> None:
        self.counts[(project, family, outcome)] += count

    def total(self, outcome: str) -> int:
        return sum(n for (_, _, o), n in self.counts.items() if o == outcome)

    def stop(self) -> None:
        self.finished = time.monotonic()

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def events_per_s(self) -> float:
        return self.total("sent") / self.seconds if self.seconds > 0 else 0.0


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>16}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


# What the seeder itself sees per project: its requests and the relay's answers.
_SEEDER = ("sent", "accepted", "rejected")


def _total(tally: Tally, column: str) -> int:
    if tally.relay and column in ("sampled away", "stored"):
        # Over HTTP a 200 does not say whether the event was kept: the relay's counts do.
        return tally.relay["sampled" if column == "sampled away" else "accepted"]
    return tally.total(column)


def summary_table(tally: Tally, title: str) -> Table:
    table = Table(title=title)
    table.add_column("project")
    table.add_column("family")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    cells = sorted({(p, f) for p, f, _ in tally.counts})
    # Over HTTP the relay counts what it kept for all projects together, not per project.
    per_row = () if tally.relay else COLUMNS
    for project, family in cells:
        table.add_row(
            project,
            family,
            *(
                f"{tally.counts[(project, family, c)]:,}" if c in per_row or c in _SEEDER else "·"
                for c in COLUMNS
            ),
        )
    table.add_section()
    table.add_row("total", "", *(f"{_total(tally, c):,}" for c in COLUMNS), style="bold")
    if tally.relay:
        table.caption = "· sampled away and stored: the relay's counts, for all projects together"
    return table


def print_summary(console: Console, tally: Tally, title: str) -> None:
    console.print(summary_table(tally, title))
    retries = ", ".join(f"{k}: {v:,}" for k, v in sorted(tally.retries.items())) or "none"
    console.print(
        f"{tally.total('sent'):,} events in {tally.seconds:.1f} s "
        f"({tally.events_per_s:,.0f} events/s); retried requests: {retries}"
    )
    if tally.relay:
        names = {"accepted": "stored", "sampled": "sampled away"}
        outcomes = ", ".join(f"{names.get(k, k)} {v:,}" for k, v in tally.relay.most_common())
        console.print(f"relay outcomes for events (all projects): {outcomes}")
        if tally.relay["sampled"]:
            console.print(
                "the relay's dynamic sampling kept only part of the traffic (seeding replays "
                "weeks in minutes, so the rates it measures are high): --keep-all stores all"
            )
    if tally.rejections:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in tally.rejections.most_common(5))
        console.print(f"rejected: {reasons}")
