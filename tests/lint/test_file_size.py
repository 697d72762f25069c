"""One concern per file, and a file a reader can hold in mind: no production source
in core/, vrrp/ or cli/ grows past 600 lines (docs/architecture.md)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 600


def production_sources():
    for folder in ("core", "vrrp", "cli"):
        yield from sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in (".h", ".cc"))


def test_no_production_file_is_longer_than_600_lines():
    sources = list(production_sources())
    assert len(sources) > 50, "the source folders were not found"
    too_long = {str(p.relative_to(ROOT)): n for p in sources
                if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not too_long, f"split these by concern: {too_long}"
