"""Reports at the scale of a large seller's account: seconds of CPU each, outside the unit ring."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_reports_ads import parsed, raw


def test_a_million_search_terms_parse(tmp_path: Path) -> None:
    """Amazon's compact layout, every column the request asks for; vectorised, so a few seconds
    and about 1 GB (figures in the module docstring), not asserted here."""
    row = dict(raw("sp_search_term")[0], searchTerm="@TERM@")
    before, after = json.dumps(row, default=float, separators=(",", ":")).split('"@TERM@"')
    path = tmp_path / "search_terms.json"
    with path.open("w", encoding="utf-8") as document:
        document.write("[")
        for start in range(0, 1_000_000, 100_000):
            if start:
                document.write(",")
            numbers = range(start, start + 100_000)
            document.write(",".join(f'{before}"term {number}"{after}' for number in numbers))
        document.write("]")
    assert parsed("sp_search_term", path).rows == 1_000_000
