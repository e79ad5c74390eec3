"""The exact ``location`` text of rows the poller dead-letters (built once per page, then per row)."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

from integrations.emulator import generate_events
from integrations.errors import MappingError
from integrations.mapping import Mapper
from integrations.poller.checkpoint import CheckpointStore
from integrations.poller.client import Page
from integrations.poller.runner import Poller, PollSettings
from integrations.sinks.base import SendResult

T0 = 1_717_000_000


class PagesClient:
    """Serves fixed pages for the first window only."""

    def __init__(self, pages: List[Page]) -> None:
        self.pages = pages
        self.windows: List[Any] = []

    def iter_pages(self, start: int, end: int, **_kw: Any) -> Iterator[Page]:
        self.windows.append((start, end))
        if len(self.windows) == 1:
            yield from self.pages


class CountingSink:
    name = "counting"

    def __init__(self) -> None:
        self.sent = 0

    def send(self, batch: Any) -> SendResult:
        self.sent += len(batch)
        return SendResult(delivered=len(batch))


def test_dead_letter_locations_name_window_page_and_row(tmp_path) -> None:
    events = list(generate_events(4, seed=3, start=T0 - 500, rate=0.01, regular=True))
    bad = events[3]
    pages = [Page(7, [events[0], "not an event"], 0, False), Page(12, [events[1], events[2], bad], 0, True)]
    dead: List[Dict[str, Any]] = []
    client = PagesClient(pages)
    sink = CountingSink()
    settings = PollSettings(lookback=1000, lag=0, max_window=3600, prefetch_pages=0)
    poller = Poller(client, sink, CheckpointStore(tmp_path / "s.json"), Mapper(), settings,
                    dead_letter=dead.append, clock=lambda: float(T0))
    real_view = poller.view

    def view(ev: Any) -> Any:
        if ev.original is bad:
            raise MappingError("ecs.test", "cannot map this one")
        return real_view(ev)

    poller.view = view
    summary = poller.run_once()
    assert summary.complete and sink.sent == 3
    start, end = client.windows[0]
    assert [d["location"] for d in dead] == [f"api:{start}-{end}:page7:row2", f"api:{start}-{end}:page12:row3"]
    assert dead[0]["original"] == "not an event" and dead[1]["original"] is bad
