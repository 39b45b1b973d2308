"""What of a repository counts as its code, and which part of it is judged.

Code, not prose: Python, notebooks (their code cells only), shell, R, SQL and
configuration count; Markdown, reStructuredText and plain text do not, so a command in
a fenced block of a chapter is no evidence. Comment lines are dropped too: a tool named
in a comment is not used.

A template is judged on what it generates: the folders under a cookiecutter or
Databricks template variable (``{{ cookiecutter.repo_name }}``, ``{{.input_root_dir}}``)
or a copier ``_subdirectory``. Files ending in a template suffix (``train.py.tmpl``) are
read as what they will become.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

TEMPLATE_SUFFIXES = (".tmpl", ".jinja", ".jinja2", ".j2")
CODE_SUFFIXES = frozenset({".py", ".ipynb", ".sh", ".bash", ".r", ".sql", ".scala", ".groovy"})
CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".cfg", ".ini", ".json", ".conf", ".tf"})
CODE_NAMES = frozenset(
    {"Makefile", "makefile", "GNUmakefile", "justfile", "Justfile", ".justfile", "Jenkinsfile", "Dockerfile"}
    | {"MLproject", "Pipfile", "Procfile", "Taskfile.yml", ".gitlab-ci.yml", "noxfile.py", "tasks.py"}
)
# Files that hold data, when they are in git: the simplest data versioning there is.
DATA_SUFFIXES = frozenset(
    {".csv", ".tsv", ".parquet", ".feather", ".arrow", ".avro", ".orc", ".xlsx", ".xls", ".jsonl"}
    | {".rda", ".rdata", ".rds", ".npy", ".npz", ".h5ad", ".tfrecord"}
)
COMMENT = re.compile(r"^\s*(#|//|--\s)")
TEMPLATE_TAG_LINE = re.compile(r"^\s*(\{%-?.*?-?%\}|\{\{-?\s*(if|else|end|range|define|template)\b.*?\}\})\s*$")
# Where tests live: they name practices without practising them (some practices accept them).
TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)(test_[^/]*|[^/]*_test\.py[^/]*|conftest\.py)$")
# Sample inputs shipped for a user to try (examples/, samples/): not the project's own data.
SAMPLE_PATH = re.compile(r"(^|/)(examples?|samples?)/", re.IGNORECASE)
MAX_TEXT = 400_000


def logical_name(name: str) -> str:
    """``train.py.tmpl`` -> ``train.py``: what the file becomes once the template is rendered."""
    for suffix in TEMPLATE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def logical_suffix(path: Path) -> str:
    return PurePosixPath(logical_name(path.name)).suffix.lower()


def is_code(path: Path) -> bool:
    name = logical_name(path.name)
    return name in CODE_NAMES or logical_suffix(path) in CODE_SUFFIXES | CONFIG_SUFFIXES


def is_test(relative: str) -> bool:
    return bool(TEST_PATH.search(relative))


def notebook_cells(text: str) -> list[tuple[int, str]]:
    """The code cells of a Jupyter notebook, (number among all its cells, source); [] when it is not one."""
    try:
        cells = json.loads(text).get("cells", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    sources = []
    for number, cell in enumerate(cells, start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append((number, "".join(source) if isinstance(source, list) else str(source)))
    return sources


def code_lines(path: Path, text: str) -> list[tuple[str, str]]:
    """(where, line) for every line that is code: comments, blank lines and template tags left out.

    ``where`` is the line number, or ``cell N, line M`` in a notebook.
    """
    if logical_suffix(path) == ".ipynb":
        found = []
        for number, cell in notebook_cells(text):
            found += [(f"cell {number}, line {n}", line) for n, line in enumerate(cell.splitlines(), start=1)]
        return [(where, line) for where, line in found if line.strip() and not COMMENT.match(line)]
    prose = docstring_lines(text) if logical_suffix(path) == ".py" else set()
    return [
        (str(number), line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not COMMENT.match(line) and not TEMPLATE_TAG_LINE.match(line) and number not in prose
    ]


def docstring_lines(text: str) -> set[int]:
    """Line numbers of a Python file's docstrings and other bare strings: prose, not code."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):  # a template, or not Python 3: keep every line
        return set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def load_yaml(text: str) -> object:
    """A YAML document, tolerating template syntax: tag-only lines dropped, inline tags blanked."""
    lines = [line for line in text.splitlines() if not TEMPLATE_TAG_LINE.match(line)]
    cleaned = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "X", "\n".join(lines))
    try:
        return yaml.safe_load(cleaned)
    except yaml.YAMLError:
        return None


@dataclass(frozen=True)
class Scope:
    """Which folders of the repository are judged, and what the report should say about it."""

    roots: tuple[Path, ...]
    notes: tuple[str, ...] = field(default=())

    def covers(self, path: Path) -> bool:
        return any(path == root or root in path.parents for root in self.roots)


PROJECT_FILES = ("pyproject.toml", "setup.py", "requirements.txt", "Pipfile", "environment.yml", "DESCRIPTION")


def template_roots(root: Path, folders: list[Path]) -> list[Path]:
    """The folders a template generates from: copier's ``_subdirectory``, or folders named by a template variable."""
    for name in ("copier.yml", "copier.yaml"):
        config = root / name
        if config.is_file():
            settings = load_yaml(config.read_text(errors="replace"))
            sub = settings.get("_subdirectory") if isinstance(settings, dict) else None
            if isinstance(sub, str) and (root / sub).is_dir():
                return [root / sub]
    templated = [f for f in folders if "{{" in f.name]
    return sorted(f for f in templated if not any(parent in templated for parent in f.parents))


def scope_of(root: Path, folders: list[Path], toplevel: Path | None) -> Scope:
    """Judge a template's generated tree, else everything; say when one folder of several is judged."""
    notes: list[str] = []
    if toplevel is not None and toplevel != root:
        notes.append(
            f"judged one folder, {root.relative_to(toplevel)}, of the repository {toplevel.name}; "
            "the rest of that repository was not looked at"
        )
    templates = template_roots(root, folders)
    if templates:
        shown = ", ".join(str(t.relative_to(root)) for t in templates[:4]) + (" ..." if len(templates) > 4 else "")
        notes.append(
            f"a template: judged on what it generates ({shown}); the repository's own CI and tests, "
            "which test the template, are not counted"
        )
        return Scope(tuple(templates), tuple(notes))
    projects = sorted(
        {f for f in folders if f.parent == root and any((f / p).is_file() for p in PROJECT_FILES)}
        | {f for f in folders if f.parent.parent == root and any((f / p).is_file() for p in PROJECT_FILES)}
    )
    if len(projects) >= 2 and not any((root / p).is_file() for p in PROJECT_FILES[:2]):
        names = ", ".join(str(p.relative_to(root)) for p in projects[:5]) + (" ..." if len(projects) > 5 else "")
        notes.append(
            f"holds {len(projects)} projects ({names}), judged together as one: REPO=<one of them> judges one alone"
        )
    return Scope((root,), tuple(notes))
