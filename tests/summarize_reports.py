"""Sums JUnit XML reports (GoogleTest and pytest) into one closing line.

Prints "N passed, N failed, N skipped" and exits 1 when anything failed or when
no report exists (a suite that crashed before writing one counts as failed).
"""
import pathlib
import sys
import xml.etree.ElementTree as ET


def count(report: pathlib.Path):
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    passed = failed = skipped = 0
    for suite in suites:
        for case in suite.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None or case.get("result") == "skipped":
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def main() -> int:
    directory = pathlib.Path(sys.argv[1])
    reports = sorted(directory.glob("*.xml"))
    totals = [0, 0, 0]
    for report in reports:
        try:
            for i, n in enumerate(count(report)):
                totals[i] += n
        except ET.ParseError as error:
            print(f"{report}: unreadable report: {error}")
            totals[1] += 1
    for crashed in sorted(directory.glob("*.crashed")):
        print(crashed.read_text().strip())
        totals[1] += 1
    if not reports:
        print("no test report was written")
        totals[1] += 1
    passed, failed, skipped = totals
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
