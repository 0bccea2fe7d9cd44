"""The survey of a normalised table (UTF-8 comma CSV): the quality figures (rows, columns,
missing cells per column, duplicate and blank rows) and the personal-information scan, in one
pass with the csv module.

It is independent of the validation, so for a large table the pipeline runs it in a child
process (`python -m portal.survey`, which imports only this module and `pii`) while Frictionless
validates in the parent: the two passes then take two cores and the slower one sets the time.
A small table is surveyed in the process itself, where a child would cost more than it saves.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .pii import Scanner

Survey = tuple[dict[str, Any], list[dict[str, Any]]]  # (quality, findings as dicts)


class RowHashes:
    """Counts repeated rows in little memory: a 64-bit hash per row (8 bytes, so about 80 MB for
    the ten million rows of a 1 GB upload), kept in 64 arrays by its low bits; each array is
    sorted on its own at the end, so the sort never needs more than 1/64 of them at once."""

    def __init__(self) -> None:
        self.buckets = [array("q") for _ in range(64)]

    def add(self, cells: Sequence[str]) -> None:
        key = hash(tuple(cells))
        self.buckets[key & 63].append(key)

    def repeats(self) -> int:
        repeats = 0
        for bucket in self.buckets:
            ordered = sorted(bucket)
            repeats += sum(1 for a, b in zip(ordered, ordered[1:]) if a == b)
        return repeats


def survey_table(path: Path, labels: Sequence[str], titles: Sequence[str]) -> Survey:
    """Quality figures and personal-information findings of the table at `path`, whose columns
    are `labels` (the header) with the data items' `titles` ("" where there is none)."""
    width = len(labels)
    missing = [0] * width
    hashes = RowHashes()
    scanner = Scanner(labels, titles)
    rows = blank = 0
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for cells in reader:
            rows += 1
            if not any(cells):
                blank += 1
                continue
            hashes.add(cells)
            if "" in cells:
                for i, cell in enumerate(cells[:width]):
                    if not cell:
                        missing[i] += 1
            for i in range(len(cells), width):
                missing[i] += 1
            scanner.scan_row(cells)
    quality = {
        "rows": rows,
        "columns": width,
        "missing": {label: round(missing[i] / rows, 4) if rows else 0.0 for i, label in enumerate(labels)},
        "missing_cells": sum(missing),
        "duplicate_rows": hashes.repeats(),
        "blank_rows": blank,
        "machine_readable": True,
    }
    return quality, [finding.to_dict() for finding in scanner.findings()]


class Running:
    """A survey under way: in a child process, or (for a small table) done at once."""

    def __init__(self, path: Path, labels: Sequence[str], titles: Sequence[str], *, in_child: bool) -> None:
        self.arguments = (path, list(labels), list(titles))
        self.child: subprocess.Popen[str] | None = None
        if in_child:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "portal.survey"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
            )
            assert self.child.stdin is not None
            self.child.stdin.write(json.dumps({"path": str(path), "labels": list(labels), "titles": list(titles)}))
            self.child.stdin.close()

    def result(self) -> Survey:
        """The survey's figures; a child that failed is replaced by a survey in this process."""
        if self.child is not None:
            assert self.child.stdout is not None
            output = self.child.stdout.read()
            self.child.stdout.close()
            if self.child.wait() == 0:
                quality, findings = json.loads(output)
                return quality, findings
        return survey_table(*self.arguments)

    def cancel(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child.wait()
            if self.child.stdout is not None:
                self.child.stdout.close()


def _main() -> None:
    """The child: a JSON request on stdin, the (quality, findings) pair as JSON on stdout."""
    request = json.loads(sys.stdin.read())
    json.dump(survey_table(Path(request["path"]), request["labels"], request["titles"]), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    _main()
