"""onair: the Chalice app. It registers blueprints and nothing else; the code lives in chalicelib/."""

from chalice import Chalice

from chalicelib.api import catalog, console, events, lifecycle, meta, schedules, tenancy
from chalicelib.api.routing import add_method_not_allowed
from chalicelib.jobs import scheduled, tasks

app = Chalice(app_name="onair", configure_logs=False)  # chalicelib/logs.py formats the logs

for blueprint in (
    meta.bp,
    tenancy.bp,
    catalog.bp,
    events.bp,
    lifecycle.bp,
    schedules.bp,
    console.bp,
    scheduled.bp,
    tasks.bp,
):
    app.register_blueprint(blueprint)
add_method_not_allowed(app)
