"""Shop service latency and throughput on this machine (SQLite, one process per service).

    python benchmarks/services.py [--duration 10] [--json reports/bench/services.json]

Figures, each with its anchor measured in the same run:
- p50/p99 of product.GetProduct and cart.AddItem at 100 req/s, cart.Commit at 50 req/s
  (open loop: latency counts from the scheduled send time, so queueing is not hidden);
  anchor: grpc.health.v1.Health/Check on the same product process at the same rate.
- peak req/s of product.GetProduct on one server process, driven by ghz (Go, built from its
  module into the cache); anchor: Health/Check on the same process, same ghz settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.bundle.logs import line_time  # noqa: E402
from testbed.shop.launcher import ShopProcesses  # noqa: E402
from testbed.shop.stubs import Account, Stubs, sign_up  # noqa: E402
from testbed.shop.v1 import cart_pb2, payment_pb2, product_pb2  # noqa: E402

GHZ_MODULE = "github.com/bojand/ghz/cmd/ghz@v0.120.0"
TOOLS_BIN = Path(os.environ.get("TESTBED_CACHE", Path.home() / ".cache" / "testbed")) / "tools" / "bin"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def open_loop(start_call: Callable[[int], grpc.Future], rate: float, duration_s: float, before: Callable[[int], None] | None = None) -> dict[str, float]:
    """Issue calls at a fixed rate; latency from each call's scheduled time to its completion."""
    n = int(rate * duration_s)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    done = threading.Semaphore(0)
    t0 = time.perf_counter()
    for i in range(n):
        scheduled = t0 + i / rate
        if before is not None:
            before(i)
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)

        def finished(fut: grpc.Future, scheduled: float = scheduled) -> None:
            elapsed = time.perf_counter() - scheduled
            with lock:
                if fut.exception() is None:
                    latencies.append(elapsed)
                else:
                    errors.append(str(fut.exception())[:120])
            done.release()

        start_call(i).add_done_callback(finished)
    for _ in range(n):
        done.acquire(timeout=30)
    return {"rate": rate, "requests": n, "errors": len(errors), "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def server_side(log: Path, method: str, start: float, end: float) -> dict[str, float]:
    """p50/p99 of the server's own latency_ms for `method` between two wall-clock times."""
    values = []
    for line in log.read_text(errors="replace").splitlines():
        if f'/{method}"' not in line:
            continue
        entry = json.loads(line)
        when = line_time(line)
        if when is not None and start <= when.timestamp() <= end and entry.get("code") == "OK":
            values.append(entry["latency_ms"] / 1000)
    return {"server_p50_ms": percentile(values, 50) * 1000, "server_p99_ms": percentile(values, 99) * 1000} if values else {}


def ghz_binary() -> str:
    found = shutil.which("ghz") or (str(TOOLS_BIN / "ghz") if (TOOLS_BIN / "ghz").exists() else None)
    if found:
        return found
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    print(f"building ghz ({GHZ_MODULE}) into {TOOLS_BIN} ...", file=sys.stderr)
    subprocess.run(["go", "install", "-trimpath", GHZ_MODULE], check=True, env={**os.environ, "GOBIN": str(TOOLS_BIN), "CGO_ENABLED": "0"})
    return str(TOOLS_BIN / "ghz")


def ghz_peak(address: str, method: str, data: dict[str, str], duration_s: float, concurrency: int) -> dict[str, float]:
    out = subprocess.run(
        [ghz_binary(), "--insecure", "--call", method, "-d", json.dumps(data), "-z", f"{duration_s}s", "-c", str(concurrency),
         "--connections", "2", "-O", "json", address],
        check=True, capture_output=True, text=True, timeout=duration_s + 60)
    report = json.loads(out.stdout)
    ok = report.get("statusCodeDistribution", {}).get("OK", 0)
    return {"rps": report["rps"], "ok": ok, "count": report["count"], "p99_ms": next((d["latency"] / 1e6 for d in report.get("latencyDistribution") or [] if d["percentage"] == 99), float("nan"))}


def prepare(stubs: Stubs, users: int) -> tuple[list[Account], list[str], dict[str, str]]:
    seller = sign_up(stubs, f"seller{uuid.uuid4().hex[:8]}@example.com", "bench password 1")
    products = [stubs.product.CreateProduct(product_pb2.CreateProductRequest(name=f"Bench {i}", description="bench", price_cents=1000 + i, stock=1_000_000), metadata=seller.md).id for i in range(5)]
    buyers, cards = [], {}
    for _ in range(users):
        buyer = sign_up(stubs, f"buyer{uuid.uuid4().hex[:8]}@example.com", "bench password 1")
        card = stubs.payment.CreatePaymentInfo(payment_pb2.CreatePaymentInfoRequest(user_id=buyer.user_id, card_number="4242424242424242", cardholder_name="Bench", expiry_month=12, expiry_year=time.gmtime().tm_year + 2), metadata=buyer.md)
        buyers.append(buyer)
        cards[buyer.user_id] = card.id
    return buyers, products, cards


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per fixed-rate phase")
    parser.add_argument("--peak-duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, default=Path("reports/bench/services.json"))
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="testbed-bench-"))
    shop = ShopProcesses(state_dir=tmp / "state", log_dir=tmp / "logs", services=("user", "product", "payment", "order", "cart", "point", "delivery"))
    results: dict[str, object] = {"machine": f"{os.cpu_count()} cores", "backend": "sqlite"}
    try:
        shop.start()
        shop.wait_ready(timeout_s=60)
        stubs = Stubs(shop.addresses())
        buyers, products, cards = prepare(stubs, users=25)
        health = health_pb2_grpc.HealthStub(stubs.channel("product"))
        get = lambda i: stubs.product.GetProduct.future(product_pb2.GetProductRequest(id=products[i % len(products)]))  # noqa: E731
        add = lambda i: stubs.cart.AddItem.future(cart_pb2.AddItemRequest(user_id=buyers[i % len(buyers)].user_id, product_id=products[i % len(products)], quantity=1), metadata=buyers[i % len(buyers)].md)  # noqa: E731
        results["health_check@100"] = open_loop(lambda i: health.Check.future(health_pb2.HealthCheckRequest()), 100, opts.duration)
        t0 = time.time()
        results["product.GetProduct@100"] = open_loop(get, 100, opts.duration)
        results["product.GetProduct@100"].update(server_side(shop.log_file("product"), "GetProduct", t0, time.time()))
        t0 = time.time()
        results["cart.AddItem@100"] = open_loop(add, 100, opts.duration)
        results["cart.AddItem@100"].update(server_side(shop.log_file("cart"), "AddItem", t0, time.time()))
        for b in buyers:  # empty the carts AddItem filled, outside the measurement
            stubs.cart.Commit(cart_pb2.CommitRequest(user_id=b.user_id, payment_info_id=cards[b.user_id]), metadata=b.md)

        def refill(i: int) -> None:
            b = buyers[i % len(buyers)]
            stubs.cart.AddItem(cart_pb2.AddItemRequest(user_id=b.user_id, product_id=products[i % len(products)], quantity=1), metadata=b.md)

        commit = lambda i: stubs.cart.Commit.future(cart_pb2.CommitRequest(user_id=buyers[i % len(buyers)].user_id, payment_info_id=cards[buyers[i % len(buyers)].user_id]), metadata=buyers[i % len(buyers)].md, timeout=10)  # noqa: E731
        t0 = time.time()
        results["cart.Commit@50"] = open_loop(commit, 50, opts.duration, before=refill)
        results["cart.Commit@50"].update(server_side(shop.log_file("cart"), "Commit", t0, time.time()))
        address = stubs.addresses["product"]
        results["peak health_check"] = ghz_peak(address, "grpc.health.v1.Health/Check", {}, opts.peak_duration, opts.concurrency)
        results["peak product.GetProduct"] = ghz_peak(address, "testbed.shop.v1.ProductService/GetProduct", {"id": products[0]}, opts.peak_duration, opts.concurrency)
        stubs.close()
    finally:
        shop.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    opts.json.parent.mkdir(parents=True, exist_ok=True)
    opts.json.write_text(json.dumps(results, indent=2))
    print(render(results))
    return 0


def render(r: dict) -> str:  # type: ignore[type-arg]
    anchor = r["health_check@100"]
    rows = ["| figure | measured at the client | server-side (its own log) | target | anchor (Health/Check, same process, same run) | ratio to anchor |", "|---|---|---|---|---|---|"]
    for key, target in (("product.GetProduct@100", "p99 ≤ 5 ms"), ("cart.AddItem@100", "—"), ("cart.Commit@50", "p99 ≤ 30 ms")):
        m = r[key]
        server = f"{m['server_p50_ms']:.2f} / {m['server_p99_ms']:.2f} ms" if "server_p50_ms" in m else "-"
        rows.append(f"| {key.replace('@', ' @ ')} req/s p50 / p99 | {m['p50_ms']:.2f} / {m['p99_ms']:.2f} ms ({m['errors']} errors / {m['requests']}) | {server} | {target} | {anchor['p50_ms']:.2f} / {anchor['p99_ms']:.2f} ms | {m['p50_ms'] / anchor['p50_ms']:.1f}× / {m['p99_ms'] / anchor['p99_ms']:.1f}× |")
    peak, peak_anchor = r["peak product.GetProduct"], r["peak health_check"]
    rows.append(f"| product.GetProduct peak (ghz, one process) | {peak['rps']:.0f} req/s | - | ≥ 1,500 req/s | {peak_anchor['rps']:.0f} req/s | {peak['rps'] / peak_anchor['rps']:.2f}× |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
