"""Chaos harness: many workflows under process kills, broker and database
restarts and duplicated messages, then checks that nothing was lost, stuck
or run twice. See doc/source/admin/reliability.rst."""
