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

OUTCOMES = ("sent", "accepted", "rejected")


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


def summary_table(tally: Tally, title: str) -> Table:
    table = Table(title=title)
    table.add_column("project")
    table.add_column("family")
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    cells = sorted({(p, f) for p, f, _ in tally.counts})
    for project, family in cells:
        table.add_row(
            project, family, *(f"{tally.counts[(project, family, o)]:,}" for o in OUTCOMES)
        )
    table.add_section()
    table.add_row("total", "", *(f"{tally.total(o):,}" for o in OUTCOMES), style="bold")
    return table


def print_summary(console: Console, tally: Tally, title: str) -> None:
    console.print(summary_table(tally, title))
    retries = ", ".join(f"{k}: {v:,}" for k, v in sorted(tally.retries.items())) or "none"
    console.print(
        f"{tally.total('sent'):,} events in {tally.seconds:.1f} s "
        f"({tally.events_per_s:,.0f} events/s); retried requests: {retries}"
    )
    if tally.relay:
        outcomes = ", ".join(f"{k} {v:,}" for k, v in tally.relay.most_common())
        console.print(f"relay outcomes for events (all projects): {outcomes}")
        if tally.relay["sampled"]:
            console.print(
                "the relay's dynamic sampling kept only part of the traffic (seeding replays "
                "weeks in minutes, so the rates it measures are high): --keep-all stores all"
            )
    if tally.rejections:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in tally.rejections.most_common(5))
        console.print(f"rejected: {reasons}")
