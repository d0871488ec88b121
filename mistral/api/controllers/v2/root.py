"""The /v2 controller tree."""

from __future__ import annotations

import pecan

from mistral.api import expose
from mistral.api import openapi
from mistral.api.controllers.v2 import action
from mistral.api.controllers.v2 import action_execution
from mistral.api.controllers.v2 import code_source
from mistral.api.controllers.v2 import cron_trigger
from mistral.api.controllers.v2 import dynamic_action
from mistral.api.controllers.v2 import environment
from mistral.api.controllers.v2 import event_trigger
from mistral.api.controllers.v2 import execution
from mistral.api.controllers.v2 import execution_tree
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2 import task
from mistral.api.controllers.v2 import workbook
from mistral.api.controllers.v2 import workflow

# Attached here: these controllers need the execution module themselves.
execution.ExecutionsController.report = (
    execution_tree.ExecutionReportController())
execution.ExecutionsController.executions = (
    execution_tree.SubExecutionsController())
task.TasksController.executions = (
    execution_tree.TaskSubExecutionsTreeController())


class Controller:
    workflows = workflow.WorkflowsController()
    executions = execution.ExecutionsController()
    tasks = task.TasksController()
    action_executions = action_execution.ActionExecutionsController()
    workbooks = workbook.WorkbooksController()
    actions = action.ActionsController()
    environments = environment.EnvironmentController()
    cron_triggers = cron_trigger.CronTriggersController()
    event_triggers = event_trigger.EventTriggersController()
    code_sources = code_source.CodeSourcesController()
    dynamic_actions = dynamic_action.DynamicActionsController()

    @expose.wsme(resources.RootResource)
    def index(self) -> resources.RootResource:
        return resources.RootResource(
            uri='%s/v2' % pecan.request.application_url)


pecan.route(Controller, 'openapi.json', openapi.serve)
