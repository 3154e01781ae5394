"""Add up the JUnit reports of scripts/test's pytest runs into one closing line."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(argv: list[str]) -> int:
    """Print `total: N passed, N failed, N skipped`; exit 1 when anything failed or is missing."""
    reports, names = Path(argv[0]), [name for name in argv[1:] if name]
    passed = failed = skipped = 0
    for name in names:
        path = reports / name
        if not path.exists():
            print(f"{name}: no report (the run did not finish)")
            failed += 1
            continue
        for suite in ET.parse(path).getroot().iter("testsuite"):  # noqa: S314
            tests, skips = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
            bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            failed += bad
            skipped += skips
            passed += tests - bad - skips
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
