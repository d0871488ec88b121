"""Mistral: workflows as a service.

Importing the package fixes two process-wide facts before any OpenStack
library is imported:

* eventlet is blocked: several libraries import it opportunistically when it
  is installed; with ``sys.modules['eventlet'] = None`` the import raises
  ImportError and they take their native-thread paths.
* oslo.service uses its threading backend (oslo.messaging imports it).
"""

import sys

if 'eventlet' not in sys.modules:
    sys.modules['eventlet'] = None  # type: ignore[assignment]

from oslo_service import backend as _oslo_backend  # noqa: E402

if _oslo_backend.get_backend_type() is None:
    _oslo_backend.init_backend(_oslo_backend.BackendType.THREADING)
