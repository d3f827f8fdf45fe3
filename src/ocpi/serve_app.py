"""The application ``ocpi serve`` runs, built the same way in every worker.

With ``--workers N`` uvicorn starts N processes that each import and build
their own app: they share nothing in memory, only the database. The options
travel in one environment variable; the operator token in its own
(``OCPI_OPERATOR_TOKEN``), which is never printed or logged.
"""

import json
import os
from typing import Any

from fastapi import FastAPI

from .app import get_application
from .core.enums import RoleEnum

OPTIONS_ENV = "OCPI_SERVE_OPTIONS"


def build(options: dict[str, Any]) -> FastAPI:
    app = get_application(roles=[RoleEnum(r) for r in options["roles"]],
                          database_url=options["database_url"],
                          public_url=options.get("public_url"),
                          operator_token=os.environ.get("OCPI_OPERATOR_TOKEN"),
                          country_code=options["country_code"],
                          party_id=options["party_id"],
                          business_name=options.get("business_name"),
                          simulate_chargers=bool(options.get("simulate_chargers")))
    if options.get("smappee_config"):
        from .connectors.smappee.job import attach

        app.state.smappee_interval = attach(app, options["smappee_config"],
                                            (options["country_code"], options["party_id"]))
    return app


def create_app() -> FastAPI:
    """uvicorn's factory in each worker process."""
    return build(json.loads(os.environ[OPTIONS_ENV]))
