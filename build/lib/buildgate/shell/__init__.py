"""Reading shell scripts: the one shell reader. Workflow ``run:`` steps (W4–W10), helper scripts
(S1/S2, D2/D3), command lines shown in docs (D3), the devpod's static scan (V3) and tag writes
(W10) are all read with it; no other module tokenises shell.

It is a small reader, not a shell, and it is hand-written on purpose:

- bashlex (the pure-Python port of bash's parser) refuses whole scripts for constructs CI
  scripts use every day (``[[ ]]``, ``$(( ))``): the sandbox's ``scripts/build-images.sh`` and
  the kustomization step of its ``build-push.yml`` both fail to parse, and one unrelated line
  must not turn a whole script into "can't decide".
- tree-sitter-bash (``tree-sitter`` + ``tree-sitter-bash`` wheels) parses every sandbox script
  and ``run:`` block, but it is compiled code outside the project's dependencies, reads an
  unterminated quote or a raw ``${{ }}`` as one ERROR subtree that swallows the commands around
  it, and would still need this package's word reading (quotes, substitutions) on top of its
  tree.

Modules, lowest first:

- :mod:`.lexer`: where quoted and nested constructs end; a script as tokens (:func:`lex`), and
  the flat view of them (:func:`split_commands`: every group of words between separators);
- :mod:`.words`: one raw word cut into parts (:func:`word_parts`), unquoted
  (:func:`dequote`), with known values put in (:func:`expand_known`); ``NAME=value`` words
  (:func:`assignments`);
- :mod:`.syntax`: the command tree (:func:`parse`): simple commands, ``if``, loops, ``case``
  arms with their patterns and bodies, functions, groups; the simple commands with known values
  put in, following assignments (:func:`expanded_commands`);
- :mod:`.variables`: words with quotes removed and multi-valued variable following
  (:func:`parse_shell`, :func:`expand`), folder idioms resolved to markers.

Every name below is importable from ``buildgate.shell``.
"""
from __future__ import annotations

from buildgate.shell.lexer import (
    Command, Heredoc, Lexed, Token, Tokens, is_arithmetic, lex, skip_brace, skip_double, skip_paren, skip_quoted,
    split_commands, split_pipeline,
)
from buildgate.shell.syntax import (
    Arith, Arm, Branch, Case, ExpandedCommand, Function, Group, If, Loop, Node, Script, Simple, children,
    expanded_commands, guarded, parse, walk,
)
from buildgate.shell.variables import (
    CMD_SUBST, MAX_NESTING, REPO_ROOT, SCRIPT_DIR, UNRESOLVED, Fragment, ShellScript, Word, command_words, expand,
    is_resolved, parse_shell,
)
from buildgate.shell.words import (
    ASSIGN, DECLARERS, KEYWORDS, NAME, PREFIXES, Parameter, Part, assignments, dequote, escaped, expand_known,
    parameter, references, substitutions, unquote, word_parts,
)

__all__ = [
    # lexer
    "Command", "Heredoc", "Lexed", "Token", "Tokens", "is_arithmetic", "lex", "skip_brace", "skip_double",
    "skip_paren", "skip_quoted", "split_commands", "split_pipeline",
    # words
    "ASSIGN", "DECLARERS", "KEYWORDS", "NAME", "PREFIXES", "Parameter", "Part", "assignments", "dequote", "escaped",
    "expand_known", "parameter", "references", "substitutions", "unquote", "word_parts",
    # syntax
    "Arith", "Arm", "Branch", "Case", "ExpandedCommand", "Function", "Group", "If", "Loop", "Node", "Script",
    "Simple", "children", "expanded_commands", "guarded", "parse", "walk",
    # variables
    "CMD_SUBST", "MAX_NESTING", "REPO_ROOT", "SCRIPT_DIR", "UNRESOLVED", "Fragment", "ShellScript", "Word",
    "command_words", "expand", "is_resolved", "parse_shell",
]
