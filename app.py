"""onair: the Chalice app. It registers blueprints and nothing else; the code lives in chalicelib/."""

from chalice import Chalice

from chalicelib.api import catalog, events, meta, schedules, tenancy
from chalicelib.api.routing import add_method_not_allowed
from chalicelib.jobs import scheduled

app = Chalice(app_name="onair")

for blueprint in (meta.bp, tenancy.bp, catalog.bp, events.bp, schedules.bp, scheduled.bp):
    app.register_blueprint(blueprint)
add_method_not_allowed(app)
