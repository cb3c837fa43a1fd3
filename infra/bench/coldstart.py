"""Cold start the way Lambda does it: start a function binary with AWS_LAMBDA_RUNTIME_API
pointing at a minimal Runtime API emulator that hands it one API Gateway v2 event, and time
exec -> response posted. Prints the median of N starts in milliseconds.

    python3 coldstart.py <binary> <event.json> <starts> [KEY=VALUE ...]

With WARM_INVOCATIONS=N in the environment it starts the function once and hands it the
event N + 1 times, one after another, as Lambda does to a warm instance; it prints the warm
invocations' median and p99 (next event handed over -> response posted) and the function's
CPU time per invocation (from /proc), the first invocation left out.
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

API = "/2018-06-01/runtime"


class Emulator(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, event):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.served = False
        self.done = threading.Event()
        self.posted_at = None
        self.response = None
        # Warm mode: how many more times the event is handed over, and each one's span.
        self.remaining = 0
        self.served_at = None
        self.spans = []

    def handle_error(self, request, client_address):
        # A function is killed once it has answered, its kept-alive connection still open.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as Lambda's Runtime API: the function's client reuses its connection.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; without TCP_NODELAY the second waits for an ACK.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if self.path != f"{API}/invocation/next":
            self.send_error(404)
            return
        if server.served:
            if server.remaining <= 0:
                # The function asks for its next event after answering; it is stopped before then.
                server.done.wait(30)
                return
            server.remaining -= 1
        server.served = True
        server.served_at = time.perf_counter()
        body = server.event
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:storefront")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        server = self.server
        length = int(self.headers.get("Content-Length", "0") or 0)
        payload = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            payload = read_chunked(self.rfile)
        server.posted_at = time.perf_counter()
        server.spans.append(server.posted_at - server.served_at)
        server.response = (self.path, payload)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        server.done.set()


def read_chunked(stream):
    data = b""
    while True:
        size = int(stream.readline().strip() or b"0", 16)
        if size == 0:
            stream.readline()
            return data
        data += stream.read(size)
        stream.readline()


def cpu_seconds(pid):
    """User + system CPU time of a process (clock ticks in /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm(binary, event, env, invocations):
    """One start, then `invocations` more of the same event on the warm instance."""
    server = Emulator(event)
    server.remaining = invocations
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=None if os.environ.get("COLDSTART_DEBUG") else subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while len(server.spans) < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    cpu_start = cpu_seconds(process.pid)
    deadline = time.monotonic() + 120
    while len(server.spans) < invocations + 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    cpu = cpu_seconds(process.pid) - cpu_start
    server.done.set()
    process.kill()
    process.wait()
    server.shutdown()
    server.server_close()
    spans = sorted(s * 1000 for s in server.spans[1:])
    if len(spans) < invocations:
        sys.exit(f"{binary} answered {len(spans)} of {invocations} warm invocations")
    path, payload = server.response
    status = json.loads(payload).get("statusCode")
    if not path.endswith("/response") or status != 200:
        sys.exit(f"{binary} answered {status}: {payload[:300]!r}")
    p99 = spans[min(len(spans) - 1, int(len(spans) * 0.99))]
    print(f"warm invocations: {invocations}, median {statistics.median(spans):.2f} ms, p99 {p99:.2f} ms, "
          f"CPU {cpu * 1000 / invocations:.3f} ms per invocation")


def main():
    binary, event_path, starts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    extra = dict(arg.split("=", 1) for arg in sys.argv[4:])
    with open(event_path, "rb") as f:
        event = f.read()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(binary),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "eu-west-1",
        "RUST_LOG": "warn",
    })
    env.update(extra)
    if os.environ.get("WARM_INVOCATIONS"):
        warm(binary, event, env, int(os.environ["WARM_INVOCATIONS"]))
        return
    timings = []
    for _ in range(starts):
        # A fresh emulator per start: a killed function's last request can never reach the next one.
        server = Emulator(event)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
        started = time.perf_counter()
        process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=None if os.environ.get("COLDSTART_DEBUG") else subprocess.DEVNULL)
        answered = server.done.wait(15)
        process.kill()
        process.wait()
        server.shutdown()
        server.server_close()
        if not answered:
            sys.exit(f"{binary} posted no response within 15 s")
        path, payload = server.response
        if not path.endswith("/response"):
            sys.exit(f"{binary} reported an error: {payload[:300]!r}")
        status = json.loads(payload).get("statusCode")
        if status != 200:
            sys.exit(f"{binary} answered {status}: {payload[:300]!r}")
        timings.append((server.posted_at - started) * 1000)
    print(f"{statistics.median(timings):.1f}")


if __name__ == "__main__":
    main()
