"""Probes: /healthz says the process serves HTTP; /readyz says every dependency answers gRPC health."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from testbed.shop.web import pages


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers={"cache-control": "no-store"})


async def readyz(request: Request) -> Response:
    deps = await pages.shop(request).readiness()
    ready = all(status == "SERVING" for status in deps.values())
    body = {"ready": ready, "deps": deps, "not_ready": sorted(name for name, status in deps.items() if status != "SERVING")}
    return JSONResponse(body, status_code=200 if ready else 503, headers={"cache-control": "no-store"})
