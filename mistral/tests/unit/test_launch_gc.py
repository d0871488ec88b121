"""mistral-server freezes what starting allocated and collects less often."""

from __future__ import annotations

import gc

from mistral.cmd import launch


def test_tune_gc_freezes_and_raises_the_threshold():
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        kept = [object() for _ in range(10)]  # something to freeze
        launch.tune_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == launch._GC_THRESHOLDS
        assert launch._GC_THRESHOLDS[0] > 700  # CPython's default
        del kept
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_run_in_process_tunes_gc_after_starting(monkeypatch):
    calls = []

    class _Comp:
        def __init__(self, name):
            self.name = name

        def start(self):
            calls.append(('start', self.name))

        def stop(self):
            calls.append(('stop', self.name))

    from mistral.service import components

    monkeypatch.setattr(components, 'build', _Comp)
    monkeypatch.setattr(launch, 'tune_gc', lambda: calls.append('gc'))

    class _Stopper:
        def __init__(self):
            import threading
            self.event = threading.Event()
            self.event.set()   # stop at once

        def install(self):   # no signal handlers in the test process
            pass

    monkeypatch.setattr(launch, '_Stopper', _Stopper)
    launch.run_in_process(['engine'])
    assert calls[:2] == [('start', 'engine'), 'gc']
