"""The AWS emulator for make dev / make test: moto's server, with DynamoDB requests handled one
at a time.

In AWS a conditional write is atomic: of two PutItems conditioned on the same version, one
wins. moto checks the condition and stores the item in two steps without a lock, so under
concurrent requests both can "win" and one write is silently lost — an emulator artefact that
would make the cart store's concurrency tests flaky (and hide nothing real). Serialising
DynamoDB calls restores the guarantee; every other service (SQS long polls included) runs
concurrently as before.

    python3 moto_server.py -H 127.0.0.1 -p 4566
"""

import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

DYNAMODB = threading.Lock()
dispatch = DomainDispatcherApplication.__call__


def serialised(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with DYNAMODB:
            # The body is built inside the lock (moto answers whole bodies, never streams).
            return list(dispatch(self, environ, start_response))
    return dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = serialised

if __name__ == "__main__":
    server.main()
