"""/maintenance: read or change the maintenance status."""

from __future__ import annotations

from typing import Any

from pecan import rest

from mistral.api import access
from mistral.api import errors
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import resources
from mistral.services import maintenance


class MaintenanceController(rest.RestController):
    # JSON only, as upstream's (no XML).
    @expose.json_only()
    @errors.text_errors_wsme_body
    def get(self) -> Any:
        access.enforce('maintenance:get', hooks.current_context())
        return errors.json_response({'status': maintenance.get_status()},
                                    200, content_type='application/json')

    @expose.wsme(resources.Maintenance, body=resources.Maintenance)
    def put(self, body: resources.Maintenance) -> resources.Maintenance:
        # Pausing the whole service is for admins (upstream has no rule;
        # see the differences document).
        access.enforce('maintenance:update', hooks.current_context())
        status = maintenance.set_status(getattr(body, 'status', None)
                                        or '')
        return resources.Maintenance(status=status)
