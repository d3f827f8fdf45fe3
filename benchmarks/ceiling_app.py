"""The ceilings: what a bare FastAPI app reaches on this machine, same run.

``PUT`` parses the JSON body and answers a fixed envelope (the write ceiling);
``GET`` answers a fixed, pre-serialised page of 50 Locations (the read
ceiling). Same paths as the node's, so routing costs alike. Run it with
uvicorn, one worker, like ``ocpi serve``.
"""

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()
OK = b'{"data":null,"status_code":1000,"status_message":"Success",' \
     b'"timestamp":"2026-01-01T00:00:00Z"}'
PAGE = Path(os.environ.get("CEILING_PAGE", "page.json")).read_bytes()


@app.put("/ocpi/emsp/2.2.1/sessions/{country_code}/{party_id}/{session_id}")
async def put_session(country_code: str, party_id: str, session_id: str,
                      request: Request) -> Response:
    await request.json()
    return Response(OK, media_type="application/json")


@app.patch("/ocpi/emsp/2.2.1/locations/{country_code}/{party_id}/{location_id}/{evse_uid}")
async def patch_evse(country_code: str, party_id: str, location_id: str, evse_uid: str,
                     request: Request) -> Response:
    await request.json()
    return Response(OK, media_type="application/json")


@app.get("/ocpi/cpo/2.2.1/locations")
async def locations_page() -> Response:
    return Response(PAGE, media_type="application/json")
