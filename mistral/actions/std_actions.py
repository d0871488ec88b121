"""Alias of :mod:`mistral.actions.std` under upstream's module name.

Serialized actions name their class by import path; upstream uses
``mistral.actions.std_actions.<Class>``, so keeping this name importable
lets messages and stored definitions written by upstream load here.
"""

from mistral.actions.std import *  # noqa: F401,F403
from mistral.actions.std import __all__  # noqa: F401
