#!/usr/bin/env python3
"""Every recorded event in events/ through the Lambda runtime path a deployed function takes,
short of AWS itself: cargo lambda's runtime emulator (`cargo lambda watch --only-lambda-apis`),
each function's `bootstrap` from `sam build` polling it through `lambda_runtime` as it polls
Lambda, and `cargo lambda invoke` sending the event. `make test` runs it through
infra/scripts/replay.sh, which builds the bootstraps (make package: the release build that
make deploy ships), starts the services
and hands over a fresh, empty database.

    lambda_replay.py <cargo-lambda> <sam-build-dir> <port> <log-dir>

The functions are configured by the environment, as in `make dev`; this script adds the
runtime's variables per function and EVENTS_QUEUE_URL (a FIFO queue it creates on the AWS
emulator). In order:
1. the migrations function migrates the database, answers its recorded CloudFormation
   update at a local ResponseURL, and creates the shop `demo` (its recorded event, plus the
   host demo.localhost that the HTTP events are addressed to);
2. every HTTP event answers as events/replays.json says (staff events with an owner's token
   from the Zitadel stand-in, STAFF_TOKEN);
3. the relay's recorded schedule publishes what the HTTP events left unpublished, and then
   every outbox row is on the queue (nothing lost);
4. the worker takes those messages as Lambda's SQS event source hands them over (received
   from the queue, one batch per receive) with no failure, then answers its recorded SQS batch
   (only the bad message and the rest of its group fail) and its recorded sweep (nothing is
   due), as its own tests say.
"""

import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


class Failed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failed(what)


def event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


def psql(sql):
    out = subprocess.run(
        ["psql", os.environ["DATABASE_OWNER_URL"], "-tAc", sql], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def bootstraps(build_dir):
    """Each function's bootstrap in sam's build dir (one folder per logical id of template.yaml)."""
    template = (ROOT / "template.yaml").read_text()
    found = re.findall(
        r"^  (\w+):\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n"
        r"      BuildProperties:\n        Binary: ([\w-]+)$",
        template,
        re.M,
    )
    check(len(found) == template.count("BuildMethod: rust-cargolambda"), "template.yaml: a function's layout is new")
    return {binary: Path(build_dir) / logical / "bootstrap" for logical, binary in found}


class CloudFormation(http.server.BaseHTTPRequestHandler):
    """CloudFormation's side of a custom resource: takes the PUT at the ResponseURL."""

    answers = []

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        CloudFormation.answers.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Runtime:
    """cargo lambda's runtime emulator and the function processes polling it."""

    def __init__(self, cargo_lambda, build_dir, port, log_dir):
        self.cargo_lambda, self.port, self.log_dir = cargo_lambda, port, Path(log_dir)
        self.bootstraps = bootstraps(build_dir)
        self.functions = {}
        self.emulator = subprocess.Popen(
            [cargo_lambda, "lambda", "watch", "--only-lambda-apis", "--invoke-address", "127.0.0.1",
             "--invoke-port", str(port)],
            stdout=open(self.log_dir / "cargo-lambda-watch.log", "w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while "starting Runtime server" not in (self.log_dir / "cargo-lambda-watch.log").read_text():
            check(self.emulator.poll() is None, "cargo lambda watch exited (see cargo-lambda-watch.log)")
            check(time.monotonic() < deadline, "cargo lambda watch did not start in 30 s")
            time.sleep(0.1)

    def start(self, function):
        """The function's binary, as Lambda starts it: the runtime API of its own name."""
        if function in self.functions:
            return self.functions[function]
        env = dict(
            os.environ,
            AWS_LAMBDA_FUNCTION_NAME=function,
            AWS_LAMBDA_FUNCTION_VERSION="1",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
            AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{self.port}/.rt/{function}",
        )
        log = open(self.log_dir / f"{function}.log", "w")
        process = subprocess.Popen([self.bootstraps[function]], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.functions[function] = process
        return process

    def invoke(self, function, payload):
        """`cargo lambda invoke`; the function's answer (a function that dies fails at once)."""
        process = self.start(function)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as data:
            json.dump(payload, data)
            data.flush()
            invoke = subprocess.Popen(
                [self.cargo_lambda, "lambda", "invoke", function, "--invoke-address", "127.0.0.1",
                 "--invoke-port", str(self.port), "--data-file", data.name, "--output-format", "json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            deadline = time.monotonic() + 120
            while invoke.poll() is None:
                check(process.poll() is None, f"{function} exited with {process.returncode} (see {function}.log)")
                if time.monotonic() > deadline:
                    invoke.kill()
                    raise Failed(f"{function}: no answer in 120 s")
                time.sleep(0.05)
            out, err = invoke.communicate()
        check(invoke.returncode == 0, f"cargo lambda invoke {function}: {err.strip() or out.strip()}")
        return json.loads(out)

    def stop(self):
        for process in [*self.functions.values(), self.emulator]:
            process.terminate()
        for process in [*self.functions.values(), self.emulator]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def migrations(runtime):
    applied = runtime.invoke("migrations", event("migrations-migrate"))["applied"]
    files = len(list((ROOT / "migrations").glob("*.sql")))
    check(applied == files and psql("select count(*) from tenants") == "0", f"migrate: {applied} of {files}")

    server = http.server.HTTPServer(("127.0.0.1", 0), CloudFormation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    update = event("migrations-cloudformation-update")
    update["ResponseURL"] = f"http://127.0.0.1:{server.server_port}/cloudformation-response"
    answer = runtime.invoke("migrations", update)
    server.shutdown()
    check(answer == {"status": "SUCCESS"}, f"CloudFormation update: {answer}")
    check(
        [(a["Status"], a["RequestId"], a["Data"]["Applied"]) for a in CloudFormation.answers]
        == [("SUCCESS", update["RequestId"], files)],
        f"CloudFormation's answers: {CloudFormation.answers}",
    )

    create = event("migrations-tenant-create")
    create["domains"].append("demo.localhost")
    created = runtime.invoke("migrations", create)["created"]
    check(created["handle"] == "demo", f"tenant-create: {created}")
    print(f"migrations: {applied} applied; CloudFormation update answered SUCCESS; shop demo created")


def http_events(runtime):
    token = os.environ["STAFF_TOKEN"]
    for replay in json.loads((EVENTS / "replays.json").read_text())["http"]:
        name, function = replay["event"], replay["function"]
        payload = json.loads((EVENTS / f"{name}.json").read_text().replace("${STAFF_TOKEN}", token))
        answer = runtime.invoke(function, payload)
        check(answer.get("statusCode") == replay["status"], f"{name}: {answer}")
        check(answer["headers"].get("x-request-id") == f"replay-{name}-1", f"{name}: {answer['headers']}")
        text = answer.get("body") or ""
        body = json.loads(text) if text else None

        def at(pointer):
            value = body
            for key in pointer.strip("/").split("/"):
                value = value.get(key) if isinstance(value, dict) else None
            return value

        if "text" in replay:
            check(at(replay["text"][0]) == replay["text"][1], f"{name}: {body}")
        elif "empty" in replay:
            check(at(replay["empty"]) == [], f"{name}: {body}")
        elif "listed" in replay:
            check(isinstance(at(replay["listed"]), list) and len(at(replay["listed"])) > 0, f"{name}: {body}")
        else:
            check(body is None, f"{name}: {body}")
        print(f"{function}: {name} answered {answer['statusCode']} as recorded")


def relay(runtime, sqs, queue_url):
    rows = int(psql("select count(*) from outbox"))
    waiting = int(psql("select count(*) from outbox where published_at is null"))
    check(rows > 0, "the HTTP events appended no outbox rows")
    summary = runtime.invoke("outbox-relay", event("outbox-relay-schedule"))
    check(summary["published"] == waiting, f"relay: {summary}, {waiting} were waiting")
    check(psql("select count(*) from outbox where published_at is null") == "0", "relay left rows behind")
    queued = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    check(int(queued["Attributes"]["ApproximateNumberOfMessages"]) == rows, f"queue: {queued['Attributes']}")
    print(f"outbox-relay: {rows} outbox rows, {rows - waiting} published after commit, {waiting} by the "
          f"schedule ({summary}); {rows} on the queue")


def sqs_event(messages, queue_url, region):
    """An SQS event as Lambda's event source mapping builds it from received messages."""
    account, name = queue_url.rstrip("/").split("/")[-2:]
    return {"Records": [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{region}:{account}:{name}",
            "awsRegion": region,
        }
        for m in messages
    ]}


def worker(runtime, sqs, queue_url):
    region = os.environ["AWS_REGION"]
    delivered = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            break
        answer = runtime.invoke("worker-engine", sqs_event(messages, queue_url, region))
        check(answer == {"batchItemFailures": []}, f"worker, the published events: {answer}")
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        delivered += len(messages)
    rows = int(psql("select count(*) from outbox"))
    check(delivered == rows, f"the worker was handed {delivered} of {rows} published events")
    answer = runtime.invoke("worker-engine", event("worker-engine-sqs"))
    failed = [item["itemIdentifier"] for item in answer["batchItemFailures"]]
    expected = ["0d4a4c0e-7b55-4b8c-9a61-0c1f2e3d4a02", "0d4a4c0e-7b55-4b8c-9a61-0c1f2e3d4a03"]
    check(failed == expected, f"worker SQS batch: {answer}")
    answer = runtime.invoke("worker-engine", event("worker-engine-sweep"))
    check(answer == {"resumed": 0}, f"worker sweep: {answer}")
    print(f"worker-engine: the {delivered} published events handled; the recorded SQS batch failed only its bad message and the rest of its group; "
          "the sweep resumed nothing")


def main():
    cargo_lambda, build_dir, port, log_dir = sys.argv[1:5]
    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
    queue_url = sqs.create_queue(
        QueueName=f"kassa-replay-{os.getpid()}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    os.environ["EVENTS_QUEUE_URL"] = queue_url
    runtime = Runtime(cargo_lambda, build_dir, int(port), log_dir)
    try:
        migrations(runtime)
        http_events(runtime)
        relay(runtime, sqs, queue_url)
        worker(runtime, sqs, queue_url)
    except Failed as failure:
        print(f"lambda replay failed: {failure} (logs in {log_dir})", file=sys.stderr)
        return 1
    finally:
        runtime.stop()
        sqs.delete_queue(QueueUrl=queue_url)
    print(f"every recorded event answered through cargo lambda's runtime emulator ({len(runtime.functions)} functions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
