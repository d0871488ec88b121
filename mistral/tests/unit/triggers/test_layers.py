"""The scheduler, notifier and event engine never reach into the API."""

from __future__ import annotations

import pytest

from mistral.tests.unit.test_layering import _violations


@pytest.mark.parametrize('package', ['scheduler', 'notifiers',
                                     'event_engine', 'services'])
def test_background_services_do_not_import_the_api(package):
    assert _violations(package, ('mistral.api', 'pecan', 'wsme')) == []
