# Sphinx configuration of the release notes (reno).
#
# Built with ``tox -e releasenotes``; notes live in releasenotes/notes and
# are added with ``reno new <slug>``.

project = 'Mistral Release Notes'
copyright = 'The Mistral reimplementation authors'
author = 'The Mistral reimplementation authors'

extensions = ['reno.sphinxext']
master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = []
html_theme = 'alabaster'
html_static_path = []
