"""Root controller: API version discovery."""

from __future__ import annotations

import json
from typing import Any

import pecan
from oslo_config import cfg

from mistral import exceptions as exc
from mistral.api import errors
from mistral.api import expose
from mistral.api.controllers import maintenance
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2 import root as v2_root

CONF = cfg.CONF


def _host_url() -> str:
    return pecan.request.application_url


class RootController:
    v2 = v2_root.Controller()
    maintenance = maintenance.MaintenanceController()

    @expose.wsme(resources.APIVersions)
    def index(self) -> resources.APIVersions:
        link = resources.Link(href='%s/v2' % _host_url(), target='v2',
                              rel='self')
        version = resources.APIVersion(id='v2.0', status='CURRENT',
                                       links=[link])
        return resources.APIVersions(versions=[version])

    @expose.json_only()
    @errors.text_errors_wsme_body
    def info(self, **_kw: Any) -> Any:
        """Deployment information from a JSON file, when enabled."""
        if not CONF.api.enable_info_endpoint:
            raise exc.InputException('The info endpoint is disabled.')
        try:
            with open(CONF.api.info_json_file_path, encoding='utf-8') as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise exc.MistralError('Can not read the info file: %s' % e) from e
        return errors.json_response(data, 200,
                                    content_type='application/json')
