"""An event's recordings: the files its recorder uploaded, with pre-signed download URLs."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.routes import Call, Reply, endpoint
from chalicelib.api.schemas import RecordingList, RecordingOut
from chalicelib.domain.models import Scope

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/events/{event_id}/recordings",
    "GET",
    scope=Scope.READ,
    tag="Room recorders",
    summary="An event's recordings",
    response=RecordingList,
    errors=(404,),
    description="Files the event's recorder uploaded (S3 keys `<tenant>/<event>/...`), oldest first, each "
    "with a pre-signed download URL valid for an hour.",
)
def event_recordings(call: Call) -> Reply:
    files = bootstrap.services().ingest.list(call.principal, call.path["event_id"])
    items = [
        RecordingOut(key=f.key, size=f.size, content_type=f.content_type, flavor=f.flavor, url=url)
        for f, url in files
    ]
    return Reply(RecordingList(items=items))
