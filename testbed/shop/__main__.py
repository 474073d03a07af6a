"""Run one shop service process: `python -m testbed.shop SERVICE [options]`.

This is what `testbed up` launches for every service, and the container entrypoint.
Options may also come from SHOP_* environment variables (see runtime/settings.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from testbed.errors import TestbedError
from testbed.shop.runtime.settings import SERVICE_NAMES, load_settings, parse_deps

# service -> module exposing `run(settings) -> int`
ENTRYPOINTS: dict[str, str] = {name: f"testbed.shop.services.{name}" for name in SERVICE_NAMES if name != "web"}
ENTRYPOINTS["web"] = "testbed.shop.web.server"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.shop", description=__doc__)
    parser.add_argument("service", choices=SERVICE_NAMES)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--state-dir")
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--nats-url")
    parser.add_argument("--dep", action="append", default=[], metavar="NAME=HOST:PORT")
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--jwt-private-key-file")
    parser.add_argument("--jwt-public-key-file")
    parser.add_argument("--token-ttl-s", type=int)
    parser.add_argument("--grace-s", type=float)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--ready-file")
    parser.add_argument("--log-level")
    opts = vars(parser.parse_args(argv))
    service = opts.pop("service")
    dep_items = opts.pop("dep")
    try:
        if dep_items:
            opts["deps"] = parse_deps(",".join(dep_items))
        settings = load_settings(service, opts)
        module = importlib.import_module(ENTRYPOINTS[service])
        return int(module.run(settings))
    except TestbedError as err:
        print(f"{service}: {err.message}", file=sys.stderr)
        return int(err.exit_code)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
