"""Who this process is, in the rows it claims (``owner`` columns)."""

from __future__ import annotations

import os
import socket
import uuid

# Host and pid for the operator; the random part tells a restarted process
# (same pid in a new container) from the one that held the claims before.
PROCESS_ID = '%s:%s:%s' % (socket.gethostname(), os.getpid(),
                           uuid.uuid4().hex[:8])
