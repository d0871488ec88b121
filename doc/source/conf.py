# Sphinx configuration of the Mistral documentation.
#
# Built with ``tox -e docs`` (sphinx-build -W: any warning fails the build).

import os
import sys

project = 'Mistral'
copyright = 'The Mistral reimplementation authors'
author = 'The Mistral reimplementation authors'

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '_ext'))

extensions = ['oslo_config.sphinxext', 'rest_reference']
templates_path = []
exclude_patterns = []
source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'

# The default theme ships with Sphinx: no network or extra package needed.
html_theme = 'alabaster'
html_static_path = []
html_title = 'Mistral'

pygments_style = 'sphinx'
