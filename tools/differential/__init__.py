"""Differential runs of the workflow-language corpus: ours against
upstream Mistral 23.0.0.

Each case of ``mistral/tests/functional/corpus/cases/*.yaml`` is played on
two servers through the REST API (python-mistralclient): its definitions
are stored in its namespace, it is started, its steps are played, and once
it has ended both servers' records are compared (:mod:`.compare`). The
command line is ``python -m tools.differential`` (see :mod:`.__main__`);
``doc/source/contributor/testing.rst`` explains how to read its output.

What is compared, per case:

* how far it got: stored, refused when stored, refused when started, ran;
  a step that could not be played (a task never reached the state it
  waits for) and a workflow that never ended are recorded, not raised;
* the final execution state, its ``state_info`` and its ``output``;
* every task run: name, state, ``state_info``, ``published``, the number
  of action executions and of sub-workflow executions it has, and the
  chain of runs that triggered it (``runtime_context.triggered_by``),
  which gives the order of runs where the language fixes it (a cycle, a
  sequence) without relying on timestamps, which the API gives in whole
  seconds;
* the multiset of task runs (name, state).

Normalisations (:mod:`.normalise`), each applied to both sides alike:

1. **Ids**: every UUID becomes ``<id>``. Both servers make their own
   random ids; what an id points to is compared through the structure
   (the trigger chains), not through its value.
2. **Timestamps**: every ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (either
   separator, optional zone) becomes ``<time>``: the two runs happen at
   different moments.
3. **Error wording**: two texts that differ are taken as the same error
   when both read as an error message (they contain one of the words in
   :data:`.normalise.ERROR_WORDS`) and name the same things of the case:
   the same set of identifiers that also occur in the case's own YAML
   (task, workflow and action names, messages the case gives to
   ``std.fail``, ``fail``, ``stop``), less the language's keywords. Our
   messages are our own wording (the project never copies upstream's
   text), so only what a message refers to can be compared. This applies
   to ``state_info`` (execution and tasks), to the messages of a refused
   definition or start, and to strings inside ``output`` and
   ``published`` (an error ends up there through ``task().result`` and
   the ``result`` key of a failed workflow's output).

Nothing else is normalised: dict key order does not matter (JSON
objects), list order does.
"""
