#!/usr/bin/env python3
"""Side-by-side serving benchmark (not a test): `steer serve` vs llama.cpp's `llama-server`.

Both servers get the same load on 127.0.0.1: C concurrent clients (default 1, 8, 32), each sending
R completion requests of a fixed prompt, greedy, exactly --max-tokens new tokens (ignore_eos).
  ours:  every request carries its OWN steering vector (a different seeded random direction per
         request, inline "values" at --layer, --scale), decoded together by continuous batching.
  llama: one global control vector (its only mode) at the same layer and scale, loaded at start
         with --control-vector-scaled; --parallel slots for the largest C, continuous batching on.
Both servers are up together and take turns for each C (--rounds alternates the order). Reports
generated tokens/s (sum of usage.completion_tokens / wall time) and p50/p99 request latency.

llama.cpp: build llama-server from the llama-cpp-python 0.3.36 sdist (the llama.cpp copy that
Tests/Reference/bench_llama_cpp.sh builds) with -DLLAMA_BUILD_SERVER=ON; see Docs/Benchmarks.md.
Both servers load the same GGUF (the real google/gemma-3-270m Q4_K_M; `steer serve` reads GGUF through
its gemma3 backend). The control vector is written by `steer vector export` (direction.<layer>, f32,
general.architecture = controlvector, controlvector.model_hint = --model-hint).

Usage:
  bench_serve.py --steer .build/release/steer --ours-model gemma-3-270m-q4_k_m.gguf --ours-backend gemma3 \
      --llama-server BUILD/bin/llama-server --gguf gemma-3-270m-q4_k_m.gguf --width 640 --model-hint gemma3 \
      [--ours-weights default,bf16] [--clients 1,8,32] [--requests 4] [--rounds 1] [--max-tokens 32] [--layer 6] [--scale 4] [--threads 2] [--json out.json]
"""
import argparse
import http.client
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time


def post(port, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    text = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {text[:300]!r}")
    return json.loads(text)


def wait_ready(port, process, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not become ready")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(port, clients, requests, make_body):
    latencies, tokens, errors = [], [0], []
    lock = threading.Lock()

    def worker(c):
        for r in range(requests):
            start = time.perf_counter()
            try:
                result = post(port, make_body(c * requests + r))
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    tokens[0] += result["usage"]["completion_tokens"]
            except Exception as error:  # noqa: BLE001
                with lock:
                    errors.append(repr(error))

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))] if latencies else None
    return {"clients": clients, "requests": clients * requests, "errors": len(errors),
            "tokens": tokens[0], "wall_s": wall, "tokens_per_s": tokens[0] / wall if wall else 0,
            "p50_s": statistics.median(latencies) if latencies else None, "p99_s": p99}


def write_npy(path, values):
    """A float32 .npy of shape [len(values)]."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }" % len(values)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))


def machine():
    """CPU model, whether avx512f is present, core count and load when the run started."""
    model, flags = "unknown", ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1]
    except OSError:
        pass
    return {"cpu": model, "avx512f": "avx512f" in flags.split(), "avx2": "avx2" in flags.split(),
            "cores": os.cpu_count(), "loadavg_at_start": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steer", required=True)
    parser.add_argument("--ours-model", required=True)
    parser.add_argument("--ours-backend", default="gemma2")
    parser.add_argument("--ours-weights", default="default",
                        help="comma-separated resident-weight choices, one server each: default (in place, the "
                             "file's blocks for small batches), f32, f16 or bf16 (steer's --weights)")
    parser.add_argument("--llama-server")
    parser.add_argument("--gguf")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--requests", type=int, default=4, help="requests per client")
    parser.add_argument("--rounds", type=int, default=1, help="measurements per server and client count")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--layer", type=int, default=3)
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--width", type=int, default=256, help="the model's hidden size")
    parser.add_argument("--model-hint", default="gemma2", help="controlvector.model_hint (llama.cpp architecture)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--llama-extra", default="", help="more llama-server arguments, e.g. '--poll 0'")
    parser.add_argument("--prompt", default="The weather in London is")
    parser.add_argument("--json")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    largest = max(clients)

    def direction(i):
        rng = random.Random(i)
        v = [rng.uniform(-1, 1) for _ in range(args.width)]
        norm = sum(x * x for x in v) ** 0.5
        return [x / norm for x in v]

    variants = [w for w in args.ours_weights.split(",") if w]
    ours_names = ["ours" if w == "default" else f"ours-{w}" for w in variants]
    results = {**{name: [] for name in ours_names}, "llama": [], "settings": vars(args), "machine": machine()}

    def ours_body(i):
        return {"prompt": args.prompt, "max_tokens": args.max_tokens, "temperature": 0, "ignore_eos": True,
                "steering": [{"values": direction(i), "scale": args.scale, "layer": args.layer}]}

    def llama_body(i):
        return {"prompt": args.prompt, "max_tokens": args.max_tokens, "temperature": 0, "ignore_eos": True}

    # Both servers run at once and take turns for each client count (the order alternating between
    # rounds), so a change in the machine's background load hits both alike; an idle server uses no CPU.
    servers = {}
    with tempfile.TemporaryDirectory() as work:
        try:
            # Ours: every request its own vector (one server per resident-weight choice).
            for name, weights in zip(ours_names, variants):
                port = free_port()
                servers[name] = (port, subprocess.Popen(
                    [args.steer, "serve", "--model", args.ours_model, "--backend", args.ours_backend,
                     "--port", str(port), "--quiet", "--max-batch", str(max(64, largest))]
                    + ([] if weights == "default" else ["--weights", weights]),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), ours_body)
            if args.llama_server and args.gguf:
                # One global control vector, written by the exporter users run:
                # `steer vector export v.npy --out control.gguf --layer L --model-hint ARCH`.
                vector = os.path.join(work, "control.gguf")
                write_npy(os.path.join(work, "v.npy"), direction(0))
                subprocess.run([args.steer, "vector", "export", os.path.join(work, "v.npy"), "--out", vector,
                                "--layer", str(args.layer), "--model-hint", args.model_hint], check=True,
                               stdout=subprocess.DEVNULL)
                port = free_port()
                servers["llama"] = (port, subprocess.Popen(
                    [args.llama_server, "-m", args.gguf, "--host", "127.0.0.1", "--port", str(port),
                     "-t", str(args.threads), "-tb", str(args.threads), "-np", str(largest),
                     "-c", str(512 * largest), "-cb", "--control-vector-scaled", f"{vector}:{args.scale}"]
                    + args.llama_extra.split(),
                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "llama.log"), "w")), llama_body)
            for name, (port, process, body) in servers.items():
                wait_ready(port, process)
                post(port, body(0))  # warm-up
            names = list(servers)
            for c in clients:
                for round_index in range(args.rounds):
                    for name in (names if round_index % 2 == 0 else names[::-1]):
                        port, _, body = servers[name]
                        load_before = os.getloadavg()[0]
                        row = load(port, c, args.requests, body)
                        row["round"] = round_index
                        row["loadavg_1m_before"] = load_before
                        print(f"{name:9s} clients={c:3d} {row['tokens_per_s']:8.1f} tok/s  p50 {row['p50_s']:.3f} s  "
                              f"p99 {row['p99_s']:.3f} s  errors {row['errors']}  load {load_before:.1f}",
                              file=sys.stderr)
                        results[name].append(row)
        finally:
            for _, process, _ in servers.values():
                process.terminate()
                process.wait(timeout=60)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
