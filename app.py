"""onair: the Chalice app. It registers blueprints and nothing else; the code lives in chalicelib/."""

from chalice import Chalice

from chalicelib.api import (
    audit,
    catalog,
    console,
    events,
    feeds,
    lifecycle,
    meta,
    opencast,
    recordings,
    schedules,
    tenancy,
)
from chalicelib.api import calendars as calendar_routes
from chalicelib.api import imports as import_routes
from chalicelib.api.routing import add_method_not_allowed
from chalicelib.jobs import imports as import_jobs
from chalicelib.jobs import scheduled, tasks

app = Chalice(app_name="onair", configure_logs=False)  # chalicelib/logs.py formats the logs

for blueprint in (
    meta.bp,
    tenancy.bp,
    catalog.bp,
    events.bp,
    lifecycle.bp,
    schedules.bp,
    calendar_routes.bp,
    import_routes.bp,
    opencast.bp,  # room recorders: the Opencast capture-agent endpoints, outside /v1
    recordings.bp,
    audit.bp,
    console.bp,
    feeds.bp,
    scheduled.bp,
    tasks.bp,
    import_jobs.bp,
):
    app.register_blueprint(blueprint)
app.api.binary_types.append("multipart/form-data")  # recorders upload files: keep their bytes intact
add_method_not_allowed(app)
