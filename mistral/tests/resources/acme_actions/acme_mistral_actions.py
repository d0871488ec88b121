"""Actions of a third-party package: only mistral-lib is imported."""

from mistral_lib import actions


class GreetAction(actions.Action):
    """Greets somebody."""

    def __init__(self, name, punctuation="!"):
        super().__init__()
        self.name = name
        self.punctuation = punctuation

    def run(self, context):
        return actions.Result(data={
            "greeting": "Hello, %s%s" % (self.name, self.punctuation),
            "workflow": context.execution.workflow_name,
            "execution_id": context.execution.workflow_execution_id,
        })


class ShoutAction(actions.Action):
    """Fails for an empty text, else returns it in capitals."""

    def __init__(self, text):
        super().__init__()
        self.text = text

    def run(self, context):
        if not self.text:
            return actions.Result(error="nothing to shout")
        return self.text.upper()
