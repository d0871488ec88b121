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
* the multiset of task runs (name, state);
* every task run, matched as the k-th run of its task: state,
  ``state_info``, ``published``, the number and states of its action
  executions and of its sub-workflow executions. The k-th run is found
  through ``runtime_context.triggered_by`` (a run comes after the runs
  that triggered it), so in a cycle the rounds are compared in order;
  the timestamps, which the API gives in whole seconds, are not used.
  The triggers themselves are not compared (what each server writes
  there, e.g. for a reverse workflow or an impossible join, is its own
  bookkeeping);
* a definition or a start that is refused: that both refuse it (the
  message is each server's own wording, not compared).

Normalisations (:mod:`.normalise`), each applied to both sides alike:

1. **Ids**: every UUID becomes ``<id>``. Both servers make their own
   random ids; what an id points to is compared through the structure
   (the trigger chains), not through its value.
2. **Timestamps**: every ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (either
   separator, optional zone) and every RFC 1123 date (``Sat, 05 Dec 2026
   17:37:30 GMT``, an HTTP ``Date`` header) becomes ``<time>``: the two
   runs happen at different moments.
3. **Error wording**: two texts that differ are taken as the same error
   when both read as an error message (they contain one of the words in
   :data:`.normalise.ERROR_WORDS`) and do not name different things of
   the case: of the identifiers that also occur in the case's own YAML
   (task, workflow and action names, messages the case gives to
   ``std.fail``, ``fail``, ``stop``; the language's keywords left out),
   those one text names are a subset of those the other names (one may
   add the workflow's name or the task's where the other names only the
   action; two different tasks or messages are a difference). Our
   messages are our own wording (the project never copies upstream's
   text), so only what a message refers to can be compared. This applies
   to ``state_info`` (execution and tasks) and to strings inside
   ``output`` and
   ``published`` (an error ends up there through ``task().result`` and
   the ``result`` key of a failed workflow's output).

Nothing else is normalised: dict key order does not matter (JSON
objects), list order does.
"""
