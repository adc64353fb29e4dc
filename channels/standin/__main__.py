"""`python -m channels.standin [--host 127.0.0.1] [--port 8095] [--config numbers.json]`: the stand-in providers."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from channels.standin.app import create_app

DEFAULT_PORT = 8095


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m channels.standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--config", type=Path, help="a JSON file of the numbers to carry (as POST /_standin/numbers)")
    args = parser.parse_args()
    uvicorn.run(create_app(args.config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
