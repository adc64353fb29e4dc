"""`python -m scripts.mutation_score`: the mutation score of the last `mutmut run` (killed / mutants tried),
the survivors by function, and a non-zero exit below the floor the project holds itself to."""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

FLOOR = 0.90
MUTMUT = Path(sys.executable).parent / "mutmut"


def main() -> int:
    listing = subprocess.run([str(MUTMUT), "results", "--all", "true"], capture_output=True, text=True, check=True)
    statuses = collections.Counter()
    survivors = collections.Counter()
    for line in listing.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        statuses[status] += 1
        if status == "survived":
            survivors[re.sub(r"__mutmut_\d+$", "", name)] += 1
    tried = sum(statuses.values())
    killed = statuses["killed"] + statuses["timeout"]
    score = killed / tried if tried else 0.0
    print(f"mutants: {tried}  killed: {killed}  " + "  ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    for name, count in survivors.most_common():
        print(f"  survived {count:3d}  {name}")
    print(f"mutation score: {score:.1%} (floor {FLOOR:.0%})")
    return 0 if score >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
