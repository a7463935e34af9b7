"""``GET /api/calls/{call_id}/recording``: a call's recording, streamed to staff only (the
admin token, or a supervisor's or admin's desktop session) for the wallboard's player."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from dialer.api.auth import caller
from dialer.errors import Forbidden, NotFound
from dialer.models import calls

MEDIA = {".wav": "audio/wav", ".gsm": "audio/x-gsm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}


async def recording(request: Request) -> Response:
    if await caller(request) is not None:
        raise Forbidden("recordings are for supervisors and admins")
    try:
        call_id = int(request.path_params["call_id"])
    except ValueError:
        raise NotFound("no such call") from None
    async with request.app.state.db.connect() as conn:
        path = (await conn.execute(calls.select().with_only_columns(calls.c.recording_path)
                                   .where(calls.c.id == call_id))).scalar()
    if not path:
        raise NotFound(f"call {call_id} has no recording")
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"call {call_id}: the recording file is missing")
    return FileResponse(file, media_type=MEDIA.get(file.suffix.lower(), "application/octet-stream"),
                        filename=f"call-{call_id}{file.suffix}", content_disposition_type="inline",
                        headers={"Cache-Control": "private, no-store"})


ROUTES = [Route("/api/calls/{call_id}/recording", recording, methods=["GET"])]
