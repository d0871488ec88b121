"""An action module written against an older upstream: it imports Result
from mistral.workflow.utils (still there in upstream 23)."""

from mistral_lib import actions

from mistral.workflow.utils import Result


class OldStyleAction(actions.Action):
    def __init__(self, value="old"):
        super().__init__()
        self.value = value

    def run(self, context):
        return Result(data={"value": self.value})
