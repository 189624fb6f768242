"""MkDocs hooks of the documentation site (``mkdocs.yml``: ``hooks: [scripts/mkdocs_hooks.py]``).

* ``<!-- table: NAME -->`` in a page becomes the table :mod:`docs_figures` computes from a committed result
  file (:data:`docs_figures.TABLES`);
* ``<!-- cli-reference -->`` becomes the ``--help`` text of every ``nasprior`` command, rendered from the
  argparse parsers themselves (:func:`nasprior.cli.build_parser`), so the reference cannot drift from the CLI.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import docs_figures  # noqa: E402

from nasprior.cli import build_parser  # noqa: E402


def _commands(parser: argparse.ArgumentParser, prefix: str):
    """Yield (command line, parser) for the parser and each of its subcommands, depth first."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{prefix} {name}")


def cli_reference() -> str:
    """Markdown of every command's ``--help``, one section each."""
    os.environ["COLUMNS"] = "96"
    parts = []
    for command, parser in _commands(build_parser(), "nasprior"):
        parser.prog = command
        level = "##" if command.count(" ") <= 1 else "###"
        parts.append(f"{level} `{command}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
    return "\n".join(parts)


_ROLE = re.compile(r":(?:class|func|meth|data|mod|attr|exc|obj):(<code>|<a )")
_TILDE = re.compile(r"<code>~")


def on_page_content(html: str, page, config, files) -> str:
    """Drop the Sphinx roles (``:class:``, ``:func:``, ...) the numpydoc docstrings use; mkdocstrings keeps them."""
    return _TILDE.sub("<code>", _ROLE.sub(r"\1", html))


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the table and CLI markers of a page."""
    if "<!-- cli-reference -->" in markdown:
        markdown = markdown.replace("<!-- cli-reference -->", cli_reference())
    return docs_figures.render(markdown)
