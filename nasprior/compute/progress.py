"""Progress you can watch: a live rich display on a terminal, plain lines elsewhere.

On a terminal, :class:`SearchProgress` shows two bars: the search
(candidates done of the planned total, with rich's estimate of the time
left) and the candidate in training (epochs, with its running validation
accuracy); progress lines scroll above them. When the output is not a
terminal (CI, a log file) it prints the same lines and nothing else.
:class:`DownloadProgress` is the bar of a data-set download (bytes, speed,
time left), shown only on a terminal and removed when the download ends.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class SearchProgress:
    """Live display of a search (a context manager).

    Parameters
    ----------
    total : int
        Candidates the search plans to evaluate (population × (generations + 1)).
    live : bool, optional
        Show the live bars; default: whether ``stream`` is a terminal.
    stream : file, optional
        Where to write (default standard output).
    """

    def __init__(self, total: int, live: bool | None = None, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self._progress: Progress | None = None
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._search = self._progress.add_task("search", total=total, info="")
            self._candidate = self._progress.add_task("candidate", total=1, info="", visible=False)

    def __enter__(self) -> SearchProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def log(self, line: str) -> None:
        """Print one progress line (above the bars when live)."""
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.stream, flush=True)

    def candidate(self, description: str, epochs: int) -> None:
        """A candidate starts training for up to ``epochs`` epochs."""
        if self._progress is not None:
            self._progress.update(
                self._candidate, description=description[:40], total=epochs, completed=0, info="", visible=True
            )

    def epoch(self, epoch: int, epochs: int, val_acc: float) -> None:
        """The candidate finished an epoch with this validation accuracy."""
        if self._progress is not None:
            self._progress.update(self._candidate, completed=epoch, info=f"val {val_acc:.4f}")

    def done(self) -> None:
        """A candidate was logged (trained, skipped or failed)."""
        if self._progress is not None:
            self._progress.update(self._candidate, visible=False)
            self._progress.advance(self._search)


class DownloadProgress:
    """A rich bar of one download, in the protocol of pooch's custom progress bars.

    pooch's :class:`~pooch.HTTPDownloader` sets :attr:`total` (bytes, from the
    ``Content-Length`` header; 0 when unknown), calls :meth:`update` after each
    chunk, and at the end :meth:`reset`, ``update(total)`` and :meth:`close`.
    The bar is live only when ``stream`` is a terminal (otherwise every call
    does nothing, so logs stay clean) and is removed when closed.

    Parameters
    ----------
    description : str
        What is downloaded (e.g. the file name), shown left of the bar.
    live : bool, optional
        Show the bar; default: whether ``stream`` is a terminal.
    stream : file, optional
        Where to draw it (default standard error).
    """

    def __init__(self, description: str, live: bool | None = None, stream: TextIO | None = None):
        stream = stream or sys.stderr
        self._progress: Progress | None = None
        if stream.isatty() if live is None else live:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=stream),
                transient=True,
            )
            self._task = self._progress.add_task(description, total=None)
            self._progress.start()
        self._total: int | None = None
        #: Bytes counted so far (also when not live).
        self.completed = 0

    @property
    def total(self) -> int | None:
        """Size of the download in bytes, or None while unknown."""
        return self._total

    @total.setter
    def total(self, value: int | None) -> None:
        self._total = int(value) if value else None
        if self._progress is not None:
            self._progress.update(self._task, total=self._total)

    def update(self, n: int) -> None:
        """Count ``n`` more bytes."""
        self.completed += int(n)
        if self._progress is not None:
            self._progress.update(self._task, completed=self.completed)

    def reset(self) -> None:
        """Start the count again from 0 bytes (the total is kept)."""
        self.completed = 0
        if self._progress is not None:
            self._progress.reset(self._task, total=self._total)

    def close(self) -> None:
        """Remove the bar (safe to call more than once)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
