"""gunicorn's settings for this service: `gunicorn -c python:licensing.gunicorn_config ...`.

Access lines leave out the query string (a signed link's token) and the referrer (a page's
address with its token); the path may hold a license key, so both of gunicorn's loggers
carry the service's redacting filter, as its own loggers do.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from licensing.logs import install_redaction


class RedactingLogger(Logger):
    """gunicorn's logger with `RedactSecrets` on its error and access loggers."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_redaction(self.error_log)
        install_redaction(self.access_log)


logger_class = RedactingLogger
# Client, time, method and path (no query string), status, bytes, duration, request id.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(D)sus %({x-request-id}o)s'
