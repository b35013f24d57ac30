"""Calendar feeds (admin scope), and each feed's calendar at its secret URL (no key: the token is the key).

API Gateway routes whole path segments only, so `GET /v1/feeds/{token}.ics` and `GET /v1/feeds/{feed_id}`
are one route here: a segment ending in `.ics` is a calendar, anything else a feed's record.
"""

from __future__ import annotations

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib import bootstrap
from chalicelib.api.console import _not_modified
from chalicelib.api.http import ROUTES, Call, Reply, RouteSpec, endpoint, handle
from chalicelib.api.meta import _server_url
from chalicelib.api.schemas import Out, PageQuery
from chalicelib.domain.feeds import Feed, FeedIn
from chalicelib.domain.models import Model, Scope
from chalicelib.services.common import etag

bp = Blueprint(__name__)

CALENDAR_TYPE = "text/calendar; charset=utf-8"
SUFFIX = ".ics"
# Calendar apps poll; each poll revalidates (a 304 costs no body), so a revoked URL stops at once and no
# shared cache keeps a copy of what a secret URL returned.
CALENDAR_HEADERS = {
    "Cache-Control": "private, no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class FeedOut(Out):
    name: str
    channel_ids: list[str] | None = Field(description="The channels it shows; null: all of the tenant's")
    prefix: str = Field(description="The token's first characters, to recognise its URL")

    @classmethod
    def of(cls, feed: Feed) -> FeedOut:
        return cls.model_validate(feed.model_dump())


class FeedCreated(FeedOut):
    url: str | None = Field(
        description="The secret calendar URL; shown once, its token stored as a hash only (null on a replay)"
    )


class FeedList(Model):
    items: list[FeedOut]
    next_cursor: str | None


def site_url(call: Call) -> str:
    """This deployment's absolute base URL as the caller reached it, ending with "/" (the console's)."""
    scheme = (call.headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
    host = call.headers.get("host") or "localhost"
    return f"{scheme}://{host}{_server_url(call).rstrip('/')}/"


@endpoint(
    bp,
    "/v1/feeds",
    "POST",
    scope=Scope.ADMIN,
    tag="Feeds",
    summary="Create a calendar feed",
    body=FeedIn,
    response=FeedCreated,
    status=201,
    errors=(400, 422),
    description="Returns the feed's secret iCalendar URL once (a replay returns it as null). "
    "`channel_ids` null means all of the tenant's channels (the first 50).",
    secret_fields=("url",),
)
def create_feed(call: Call) -> Reply:
    feed, token = bootstrap.services().feeds.create(call.principal, call.body, call.now)
    url = f"{site_url(call)}v1/feeds/{token}{SUFFIX}"
    return Reply(FeedCreated(**FeedOut.of(feed).model_dump(), url=url), 201, etag(feed))


@endpoint(
    bp,
    "/v1/feeds",
    "GET",
    scope=Scope.ADMIN,
    tag="Feeds",
    summary="List calendar feeds",
    query=PageQuery,
    response=FeedList,
)
def list_feeds(call: Call) -> Reply:
    items, cursor = bootstrap.services().feeds.list(call.principal, call.query.limit, call.query.cursor)
    return Reply(FeedList(items=[FeedOut.of(f) for f in items], next_cursor=cursor))


def get_feed(call: Call) -> Reply:
    feed = bootstrap.services().feeds.get(call.principal, call.path["feed_id"])
    return Reply(FeedOut.of(feed), etag=etag(feed))


def calendar(call: Call) -> Reply:
    found = bootstrap.services().feeds.calendar(call.path["token"], call.now, site_url(call))
    if _not_modified(call, found.etag):  # nothing is written for a calendar app that has it already
        return Reply(None, 304, etag=found.etag, headers=CALENDAR_HEADERS, content_type=CALENDAR_TYPE)
    name = {"Content-Disposition": 'inline; filename="onair.ics"'}
    return Reply(
        found.render(), etag=found.etag, headers={**CALENDAR_HEADERS, **name}, content_type=CALENDAR_TYPE
    )


RECORD = RouteSpec(
    path="/v1/feeds/{feed_id}",
    method="GET",
    scope=Scope.ADMIN,
    tag="Feeds",
    summary="Get a calendar feed, or (as `<token>.ics`, with no key) its calendar",
    response=FeedOut,
    errors=(404,),
    operation_id="get_feed",
    description="With a feed id and an admin key: the feed. With the token from the feed's URL and `.ics` "
    "(`GET /v1/feeds/{token}.ics`), no key is needed: the answer is the calendar as `text/calendar` "
    "(iCalendar) with an `ETag` that `If-None-Match` turns into a 304; an unknown or revoked token is a 404.",
)
CALENDAR = RouteSpec(
    path="/v1/feeds/{token}.ics",
    method="GET",
    scope=None,
    tag="Feeds",
    summary="A feed's calendar (iCalendar)",
    content="text/calendar",
    errors=(404,),
    operation_id="feed_calendar",
)
ROUTES.append(RECORD)  # documented together: one route serves both (see the module's docstring)


@bp.route("/v1/feeds/{feed_id}", methods=["GET"], content_types=["*/*"])
def feed_or_calendar(feed_id: str) -> Response:
    if feed_id.endswith(SUFFIX):
        return handle(CALENDAR, calendar, bp.current_request, {"token": feed_id[: -len(SUFFIX)]})
    return handle(RECORD, get_feed, bp.current_request, {"feed_id": feed_id})


@endpoint(
    bp,
    "/v1/feeds/{feed_id}",
    "DELETE",
    scope=Scope.ADMIN,
    tag="Feeds",
    summary="Revoke a calendar feed",
    status=204,
    errors=(404, 412),
    description="Its URL stops working at once.",
)
def revoke_feed(call: Call) -> Reply:
    bootstrap.services().feeds.revoke(call.principal, call.path["feed_id"], call.if_match)
    return Reply(None, 204)
