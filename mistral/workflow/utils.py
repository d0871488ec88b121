"""Upstream's ``mistral.workflow.utils`` import path for action plugins.

Actions written for upstream Mistral may still import ``Result`` (and
``ResultSerializer``) from here, where upstream 23 keeps them as aliases of
mistral-lib's. Only the aliases: this package is the pure core and imports
nothing from the database or RPC layers.
"""

from mistral_lib.actions import types

Result = types.Result
ResultSerializer = types.ResultSerializer

__all__ = ['Result', 'ResultSerializer']
