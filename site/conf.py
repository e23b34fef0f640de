"""Sphinx configuration of the study's static site (``make site``; docs/running.md, "The study as a site").

The site renders what is committed: README, the generated results page, docs/ and every executed notebook of
reports/ as the runner executed it. Nothing is executed to build it (``nb_execution_mode = "off"``), so it needs
neither torch nor the package, and it shows exactly the published results. Built with ``-c site`` from the
repository root (the source folder), so the documents keep their paths and their relative links.
"""

project = "Landslide extraction: a reproduction of Yang et al. (2022)"
author = "the project's contributors"
extensions = ["myst_nb"]
root_doc = "site/index"
nb_execution_mode = "off"          # render the committed outputs; never re-run a notebook
include_patterns = ["site/index.md", "README.md", "docs/*.md", "reports/README.md", "reports/*/*.ipynb",
                    "reports/*/sweeps/*/07_analyse_sweep.ipynb"]
exclude_patterns = [".venv*", "data", "build", "**/*.failed.ipynb", "**/.ipynb_checkpoints"]
myst_heading_anchors = 3           # README's "#where-to-go-next" style anchors resolve
suppress_warnings = ["misc.highlighting_failure"]   # ```mermaid diagrams in docs/ stay code blocks
html_theme = "alabaster"
html_title = "Landslide extraction: the study"
html_extra_path = ["extra"]        # index.html at the site's root leads to site/index.html
html_show_sourcelink = False
