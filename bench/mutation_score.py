"""Per-module mutation score of the last `mutmut run` (run by `make mutation`, not by CI).

Reads `mutmut results --all true` and prints, per mutated module, the killed / total count and
the survivors by name (`mutmut show NAME` prints a survivor's diff). A mutant that times out
counts as killed: the tests noticed it. Exit status 0 always: the score is for reading.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict

DETECTED = {"killed", "timeout", "caught by type check", "segfault"}
LINE = re.compile(r"^\s*(?P<name>\S+?)\.x(?:_|ǁ)\S*__mutmut_\d+: (?P<status>.+)$")


def main() -> int:
    listing = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in listing.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        module, status = match["name"], match["status"].strip()
        statuses[module][status] += 1
        if status not in DETECTED:
            survivors[module].append(f"{line.strip()}")
    total_killed = total = 0
    for module in sorted(statuses):
        counts = statuses[module]
        killed = sum(counts[status] for status in DETECTED)
        judged = sum(counts.values()) - counts["not checked"] - counts["skipped"]
        total_killed, total = total_killed + killed, total + judged
        score = 100 * killed / judged if judged else 0.0
        print(f"{module:45} {killed:4}/{judged:<4} {score:5.1f} %   {dict(counts)}")
        for survivor in survivors[module]:
            print(f"    {survivor}")
    if total:
        print(f"{'all':45} {total_killed:4}/{total:<4} {100 * total_killed / total:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
