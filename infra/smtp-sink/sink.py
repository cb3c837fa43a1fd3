"""Kassa's local SMTP sink: a real SMTP server (aiosmtpd) that keeps every message it
receives as an .eml file instead of delivering it. `make dev` runs it on 127.0.0.1:1025 and
`make mails` lists what it received; the tests start their own on a free port.

    sink.py serve --port 1025 --dir .kassa/mail
    sink.py list --dir .kassa/mail
"""

import argparse
import email
import email.policy
import pathlib
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory: pathlib.Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}.eml"
        partial = self.directory / (name + ".partial")
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def serve(port: int, directory: pathlib.Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(Store(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"SMTP sink on 127.0.0.1:{port}, keeping mail in {directory}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


def list_mail(directory: pathlib.Path) -> None:
    files = sorted(directory.glob("*.eml"))
    if not files:
        print(f"no mail in {directory}")
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        print(f"{message['Date']}  to {message['To']}  {message['Subject']}  ({path})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "list"])
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=pathlib.Path, required=True)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, args.dir)
    else:
        list_mail(args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
