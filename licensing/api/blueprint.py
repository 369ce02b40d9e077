"""The API's Blueprint: flask-smorest's, reading JSON bodies only through `json_body`."""

from __future__ import annotations

import flask_smorest

from licensing.api.json_body import StrictJsonParser


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictJsonParser()
