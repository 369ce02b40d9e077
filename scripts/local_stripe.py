"""Run localstripe (a stateful Stripe-compatible server) on 127.0.0.1 only.

localstripe's own command listens on every interface; this service's local parts stay on
the loopback. Usage: python scripts/local_stripe.py [--port 8420] [--from-scratch]
                                     [--webhook-url URL --webhook-secret SECRET]
With a webhook URL, localstripe delivers its events there, signed with the secret.
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web
from localstripe.server import app, store
from localstripe.webhooks import register_webhook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument(
        "--from-scratch",
        action="store_true",
        help="start empty and keep the state in memory only (never read or write the pickle)",
    )
    parser.add_argument("--webhook-url", help="where to deliver events (the service's webhook)")
    parser.add_argument("--webhook-secret", default="whsec_local", help="the endpoint secret")
    args = parser.parse_args()
    if args.from_scratch:
        # localstripe pickles its whole store to /tmp after every write; a fresh run neither
        # reads what earlier runs left there nor leaves anything for the next one.
        store.dump_to_disk = lambda: None
    else:
        store.try_load_from_disk()
    if args.webhook_url:
        register_webhook("licensing", args.webhook_url, args.webhook_secret, None)
    logging.basicConfig(level=logging.INFO)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
