"""An action generator in mistral-extra's form."""

from mistral_lib import actions


class GlobexClientAction(actions.Action):
    """The base class of the generated actions: any keyword."""

    client_method_name = None

    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def run(self, context):
        return {"method": self.client_method_name, "kwargs": self.kwargs}


class GlobexGenerator(object):
    base_action_class = GlobexClientAction

    @classmethod
    def create_actions(cls):
        update = type("TrustsUpdate", (GlobexClientAction,),
                      {"client_method_name": "trusts.update"})
        listing = type("TrustsList", (GlobexClientAction,),
                       {"client_method_name": "trusts.list"})
        return [
            # The generator could not tell the arguments: an empty list.
            {"name": "globex.trusts_update", "class": update,
             "description": "Update a trust.", "arg_list": ""},
            {"name": "globex.trusts_list", "class": listing,
             "description": "List trusts.", "arg_list": "limit=10"},
        ]


def all_generators():
    return [GlobexGenerator]
