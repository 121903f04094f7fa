#!/usr/bin/env python3
"""End-to-end test of `steer serve` with the real `openai` Python client, on the demo model.

Starts `steer serve` on 127.0.0.1 with a free port, a temporary store holding one SAE-direct vector
and the demo SAE, and checks: completions and chat, streaming and not, with and without steering;
greedy (and seeded) results equal `steer generate` with the same vector and scale; OpenAI error
objects for bad input while the server keeps serving; a client that disconnects mid-stream; a bounded
load of 32 concurrent clients with mixed steering (fixed number of requests, nothing lost); SIGTERM
exits 0. The `openai` package is pip-installed into .cache/serve-venv; when that fails outside CI
the script prints SKIP and exits 77.

Usage: serve_e2e.py --steer PATH/TO/steer [--root REPO]
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import venv

SKIP = 77


def ensure_openai(root):
    """Re-executes this script inside .cache/serve-venv with `openai` installed."""
    try:
        import openai  # noqa: F401
        return
    except ImportError:
        pass
    env_dir = os.path.join(root, ".cache", "serve-venv")
    python = os.path.join(env_dir, "bin", "python")
    if os.environ.get("SERVE_E2E_IN_VENV"):
        fail_or_skip("openai is still missing inside " + env_dir)
    try:
        if not os.path.exists(python):
            venv.create(env_dir, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "openai>=1.40"],
                       check=True, timeout=600)
    except Exception as error:  # noqa: BLE001
        fail_or_skip(f"could not pip-install openai into {env_dir}: {error}")
    os.environ["SERVE_E2E_IN_VENV"] = "1"
    os.execv(python, [python] + sys.argv)


def fail_or_skip(message):
    if os.environ.get("CI"):
        print("FAIL: " + message, file=sys.stderr)
        sys.exit(1)
    print("SKIP: " + message + " (outside CI this test is skipped)", file=sys.stderr)
    sys.exit(SKIP)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if result.returncode != 0:
        raise AssertionError(f"{cmd[:3]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steer", required=True)
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    args = parser.parse_args()
    ensure_openai(args.root)
    import http.client

    import openai

    root, steer = args.root, args.steer
    model = os.path.join(root, "Demo", "model")
    sae = os.path.join(root, "Demo", "sae", "layer_3", "width_2k", "average_l0_53")
    work = tempfile.mkdtemp(prefix="serve-e2e-")
    store = os.path.join(work, "store")
    npy = os.path.join(work, "v.npy")
    run([steer, "vector", "make", "--strategy", "sae-direct", "--sae", sae, "--target", "17", "--store", store,
         "--alias", "vector/demo/f17", "--out", npy])
    alias, scale, layer = "vector/demo/f17", 40.0, 3

    log = open(os.path.join(work, "serve.log"), "w")
    server = subprocess.Popen([steer, "serve", "--model", model, "--store", store, "--sae", sae, "--port", "0",
                               "--drain-seconds", "5"], stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = server.stdout.readline()
        check("http://127.0.0.1:" in line, f"no listening line, got {line!r}")
        base = line.strip().split(" on ")[-1]
        port = int(base.split(":")[2].split("/")[0])
        client = openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=120)

        def generate(prompt, steered, temperature=0.0, seed=0, n=16):
            cmd = [steer, "generate", "--model", model, "--prompt", prompt, "--n", "1", "--max-new-tokens", str(n),
                   "--temperature", str(temperature), "--top-k", "0", "--seed", str(seed), "--json"]
            if steered:
                cmd += ["--steer", npy, "--scale", str(scale), "--layer", str(layer)]
            return json.loads(run(cmd))[0]["completion"]

        steering = [{"vector": alias, "scale": scale}]
        models = client.models.list()
        check([m.id for m in models.data] == ["model"], f"models: {models}")

        # Completions: plain and steered, greedy, equal to steer generate; streaming gives the same text.
        prompt = "The weather in London"
        for steered in (False, True):
            extra = {"steering": steering} if steered else {}
            expected = generate(prompt, steered)
            got = client.completions.create(model="model", prompt=prompt, max_tokens=16, temperature=0,
                                            extra_body=extra)
            check(got.choices[0].text == expected, f"steered={steered}: {got.choices[0].text!r} != {expected!r}")
            check(got.usage.completion_tokens > 0, "usage")
            pieces = [c.choices[0].text for c in client.completions.create(
                model="model", prompt=prompt, max_tokens=16, temperature=0, stream=True, extra_body=extra)]
            check("".join(pieces) == expected, f"stream steered={steered}: {''.join(pieces)!r} != {expected!r}")
        plain, steered_text = generate(prompt, False), generate(prompt, True)
        check(plain != steered_text, "the vector changes the greedy completion")
        # Seeded sampling equals steer generate with the same seed.
        expected = generate(prompt, True, temperature=0.8, seed=5)
        got = client.completions.create(model="model", prompt=prompt, max_tokens=16, temperature=0.8, seed=5,
                                        extra_body={"steering": steering, "top_k": 0})
        check(got.choices[0].text == expected, f"seeded: {got.choices[0].text!r} != {expected!r}")
        # n choices are rows 0..n-1 of the same seed.
        many = client.completions.create(model="model", prompt=prompt, max_tokens=8, temperature=0.8, seed=5, n=3)
        check(len(many.choices) == 3 and [c.index for c in many.choices] == [0, 1, 2], "n=3")

        # Chat: streaming equals non-streaming, with and without steering; feature and inline steering run.
        messages = [{"role": "user", "content": "Tell me about the weather."}]
        for extra in ({}, {"steering": steering}, {"steering": [{"feature": 17, "scale": 4}]},
                      {"steering": [{"values": [0.01] * 256, "scale": 2, "layer": 1}]}):
            chat = client.chat.completions.create(model="model", messages=messages, max_tokens=12, temperature=0,
                                                  extra_body=extra)
            text = chat.choices[0].message.content
            check(chat.choices[0].message.role == "assistant" and chat.choices[0].finish_reason in ("stop", "length"),
                  f"chat {extra}: {chat}")
            streamed = "".join((c.choices[0].delta.content or "") for c in client.chat.completions.create(
                model="model", messages=messages, max_tokens=12, temperature=0, stream=True, extra_body=extra)
                if c.choices)
            check(streamed == text, f"chat stream {extra}: {streamed!r} != {text!r}")

        # Bad input: OpenAI error objects, and the server keeps serving.
        def request(method, path, body=None):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            status, text = response.status, response.read().decode()
            connection.close()
            return status, text

        bad = [
            (b"{oops", 400),
            (json.dumps({"prompt": "x", "max_tokens": 0}).encode(), 400),
            (json.dumps({"prompt": "x", "steering": [{"vector": "vector/none", "scale": 1}]}).encode(), 404),
            (json.dumps({"prompt": "x", "steering": [{"values": [1.0] * 7, "scale": 1, "layer": 1}]}).encode(), 400),
            (json.dumps({"prompt": "x", "steering": [{"vector": alias, "scale": float("nan")}]}).encode(), 400),
            (json.dumps({"prompt": "x", "steering": [{"vector": alias, "scale": float("inf")}]}).encode(), 400),
            (json.dumps({"prompt": "word " * 400}).encode(), 400),
            (b"{" + b" " * (2 << 20) + b"}", 413),
        ]
        for body, status in bad:
            got, text = request("POST", "/v1/completions", body)
            check(got == status, f"{body[:60]!r}: {got} {text[:200]}")
            error = json.loads(text)["error"]
            check(set(error) == {"message", "type", "param", "code"} and error["message"], f"error object {error}")
        try:
            client.completions.create(model="model", prompt="x", max_tokens=4, extra_body={
                "steering": [{"vector": "vector/none", "scale": 1}]})
            check(False, "unknown alias accepted")
        except openai.NotFoundError:
            pass
        vectors = json.loads(request("GET", "/v1/steering/vectors")[1])
        check([v["id"] for v in vectors["data"]] == [alias] and vectors["dictionary"]["features"] == 2048,
              f"vectors {vectors}")

        # A client that disconnects mid-stream frees its row; the server goes on.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/v1/completions", body=json.dumps(
            {"prompt": "Once", "max_tokens": 200, "temperature": 0.7, "stream": True}),
            headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        for _ in range(3):
            response.fp.readline()
        connection.sock.close()
        connection.close()
        # So does one that disconnects while waiting for a whole (non-streamed) completion.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/v1/completions", body=json.dumps(
            {"prompt": "Once", "max_tokens": 200, "temperature": 0.7, "ignore_eos": True}),
            headers={"Content-Type": "application/json"})
        time.sleep(0.05)
        connection.sock.close()
        connection.close()
        check(client.completions.create(model="model", prompt="Hello", max_tokens=2).choices, "serving after disconnect")

        # Bounded load: 32 concurrent clients, 96 requests, mixed steering; greedy results must equal
        # the same request alone.
        kinds = [{}, {"steering": steering}, {"steering": [{"feature": 5, "scale": 3}]},
                 {"steering": [{"values": [0.02] * 256, "scale": -3, "layer": 2}]}]
        prompts = ["The weather in London", "Once upon a time", "I love", "The cat sat"]
        jobs = [(prompts[i % 4], i % 4, 4 + (i * 7) % 13, i % 2 == 0) for i in range(96)]
        solo = {}
        results, errors = {}, []
        lock = threading.Lock()

        def worker(indices):
            local = openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=300)
            for i in indices:
                p, k, m, stream = jobs[i]
                try:
                    if stream:
                        text = "".join(c.choices[0].text for c in local.completions.create(
                            model="model", prompt=p, max_tokens=m, temperature=0, stream=True, extra_body=kinds[k]))
                    else:
                        text = local.completions.create(model="model", prompt=p, max_tokens=m, temperature=0,
                                                        extra_body=kinds[k]).choices[0].text
                    with lock:
                        results[i] = text
                except Exception as error:  # noqa: BLE001
                    with lock:
                        errors.append(f"request {i}: {error!r}")

        threads = [threading.Thread(target=worker, args=(list(range(c, len(jobs), 32)),)) for c in range(32)]
        start = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        elapsed = time.time() - start
        check(not errors, f"load errors: {errors[:5]}")
        check(len(results) == len(jobs), f"lost requests: {len(jobs) - len(results)}")
        for i, (p, k, m, _) in enumerate(jobs):
            key = (p, k, m)
            if key not in solo:
                solo[key] = client.completions.create(model="model", prompt=p, max_tokens=m, temperature=0,
                                                      extra_body=kinds[k]).choices[0].text
            check(results[i] == solo[key], f"request {i} under load: {results[i]!r} != alone {solo[key]!r}")
        print(f"load: {len(jobs)} requests from 32 clients in {elapsed:.1f} s, all equal to their solo runs")

        # SIGTERM: graceful, exit 0.
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        check(code == 0, f"exit status after SIGTERM: {code}")
        log.flush()
        text = open(os.path.join(work, "serve.log")).read()
        check("London" not in text and "weather" not in text, "prompt text in the log")
        check("/v1/completions 200" in text, "per-request log lines")
        # Both disconnected requests ended cancelled, before their 200 tokens.
        for stream in ("true", "false"):
            lines = [l for l in text.splitlines() if f"stream={stream} finish=cancelled" in l]
            check(lines, f"no cancelled stream={stream} request in the log:\n{text[-3000:]}")
            check(all("completion_tokens=200 " not in l for l in lines), f"a cancelled row ran to the end: {lines}")
        print("serve e2e: OK")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
