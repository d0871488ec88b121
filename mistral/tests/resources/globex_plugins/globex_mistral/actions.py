"""Actions that behave as OpenStack client actions do."""

from mistral_lib import actions
from mistral_lib import utils

# Where upstream's RPC layer puts the request context before it runs an
# action (mistral-extra reads it from there).
APP_CTX = "MISTRAL_APP_CTX_THREAD_LOCAL"


class Flavor(object):
    def __init__(self, name, ram):
        self.name = name
        self.ram = ram


class Server(object):
    """Like a python-novaclient resource: attributes, nested objects."""

    def __init__(self, name):
        self.name = name
        self.status = "ACTIVE"
        self.flavor = Flavor("m1.small", 2048)


class GetServerAction(actions.Action):
    """Returns a client object."""

    def __init__(self, name="web"):
        super().__init__()
        self.name = name

    def run(self, context):
        return Server(self.name)


class ListServersAction(actions.Action):
    """Returns a generator of client objects."""

    def __init__(self, count=2):
        super().__init__()
        self.count = count

    def run(self, context):
        return (Server("server-%d" % i) for i in range(self.count))


class WhoAmIAction(actions.Action):
    """Reads the caller from the application context, as mistral-extra's
    OpenStack actions do to authenticate."""

    def run(self, context):
        app = utils.get_thread_local(APP_CTX)
        if app is None:
            raise RuntimeError("no application context")
        return {"project_id": app.project_id, "auth_uri": app.auth_uri,
                "user_id": app.user_id, "insecure": app.insecure}


class Opaque(object):
    __slots__ = ("handle",)

    def __init__(self):
        self.handle = 42


class OpaqueAction(actions.Action):
    """Returns an object that has no JSON form at all."""

    def run(self, context):
        return Opaque()
