"""What a repository's CI actually runs: its commands, and the task runners they call, one level deep.

Systems: GitHub Actions (and local composite actions), GitLab CI, Azure Pipelines,
Jenkins, CircleCI, Bitbucket, Travis, Buildkite, Drone, and this template's ``.ci/run``.
A command is followed once through the task runner it calls: make, just, mise, go-task,
tox, nox, invoke, poethepoet, and the ``run`` verbs of poetry, uv, pdm, hatch, pipenv,
rye and pixi (into their scripts when the name is one), or a script file it runs. What
the commands do decides: running the tests, training or deploying the model is model
CI/CD; building documentation or linting alone is not.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maturity import sources
from maturity.target import Target

SYSTEMS = (
    ("GitHub Actions", r"(^|/)\.github/workflows/[^/]+\.ya?ml$"),
    ("GitHub Actions", r"(^|/)\.github/actions/[^/]+/action\.ya?ml$"),
    ("GitLab CI", r"(^|/)\.gitlab-ci\.ya?ml$|(^|/)\.gitlab/.*\.ya?ml$"),
    (
        "Azure Pipelines",
        r"(^|/)azure-pipelines[^/]*\.ya?ml$|(^|/)\.(azure|azuredevops|azure-pipelines|pipelines)/.*\.ya?ml$",
    ),
    ("Jenkins", r"(^|/)Jenkinsfile[^/]*$"),
    ("CircleCI", r"(^|/)\.circleci/config\.ya?ml$"),
    ("Bitbucket Pipelines", r"(^|/)bitbucket-pipelines\.ya?ml$"),
    ("Travis CI", r"(^|/)\.travis\.ya?ml$"),
    ("Buildkite", r"(^|/)\.buildkite/.*\.ya?ml$"),
    ("Drone", r"(^|/)\.drone\.ya?ml$"),
    ("a CI script", r"(^|/)\.ci/[^/]+$"),
)
COMMAND_KEY = re.compile(
    r"^(?P<indent>\s*(?:-\s+)?)(?P<key>run|script|before_script|after_script|bash|pwsh|powershell|inlineScript"
    r"|command|commands|entrypoint|cmds|install)\s*:\s*(?P<value>.*)$"
)
USES = re.compile(r"^\s*(?:-\s+)?(?:uses|task|orb):\s*['\"]?(?P<value>[^'\"\s#]+)")
JENKINS_STEP = re.compile(r"\b(?:sh|bat|powershell)\s*\(?\s*(?:script:\s*)?('''|\"\"\"|'|\")(?P<body>.*?)\1", re.DOTALL)
KINDS = {
    "tests": r"\b(pytest|py\.test|nosetests|behave|tox|nox|testthat)\b|python3?\s+-m\s+(pytest|unittest)\b",
    "training": r"\bdvc (repro|exp run)\b|\bkedro run\b|\bmlflow run\b|\bzenml pipeline run\b|databricks bundle run"
    r"|python3?\s+(-m\s+)?\S*(train|pipeline)\w*(\.py)?\b|prefect deployment run|anyscale jobs submit",
    "deployment": r"\bkubectl (apply|rollout|set image)|\bhelm (upgrade|install)\b|\bdocker push\b"
    r"|bentoml (deploy|containerize)|databricks bundle deploy|az ml online-|az webapp|serverless deploy"
    r"|gcloud (run deploy|ai endpoints|app deploy)"
    r"|anyscale service (rollout|deploy)|mlflow models (serve|build-docker)|\bfly deploy\b|argocd app sync"
    r"|azure/webapps-deploy|docker/build-push-action|amazon-ecs-deploy|deploy-cloudrun|azure/k8s-deploy|AzureWebApp@",
    "documentation": r"mkdocs|sphinx|\bpdoc\b|gh-deploy|jupyter-book|docusaurus|zensical|marp|deploy-pages"
    r"|upload-pages-artifact|configure-pages|actions-gh-pages",
    "linting": r"\b(ruff|flake8|pylint|mypy|black|isort|pre-commit|bandit|pyright|codespell|yamllint|gitleaks)\b",
}
MODEL_KINDS = ("tests", "training", "deployment")
RUN_VERBS = {"poetry", "uv", "pdm", "hatch", "pipenv", "rye", "pixi", "conda"}
WRAPPERS = {"sudo", "time", "env", "exec", "xvfb-run"}


@dataclass(frozen=True)
class Command:
    text: str
    where: str  # path:line
    via: str = ""  # the runner it came through, e.g. "mise task test (mise.toml)"


def ci_files(t: Target) -> list[tuple[str, Path]]:
    found = []
    for path in t._listing:
        relative = sources.logical_name(t.rel(path))
        system = next((name for name, pattern in SYSTEMS if re.search(pattern, relative)), None)
        if system is not None:
            found.append((system, path))
    return found


def project_root(path: Path, root: Path) -> Path:
    """The folder a CI file belongs to: the parent of its ``.github``/``.gitlab``/... folder."""
    for parent in path.parents:
        if parent.name.startswith(".") and parent.name in {".github", ".gitlab", ".azure", ".azuredevops", ".circleci"}:
            return parent.parent
        if parent == root:
            break
    return path.parent if path.parent != root and not path.parent.name.startswith(".") else root


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _yaml_commands(t: Target, path: Path) -> list[Command]:
    """Command lines under the keys that hold them, read line by line (template syntax survives this)."""
    lines, found = t.text(path).splitlines(), []
    for number, line in enumerate(lines, start=1):
        where = f"{t.rel(path)}:{number}"
        if (uses := USES.match(line)) is not None:
            found.append(Command(uses.group("value"), where))
        match = COMMAND_KEY.match(line)
        if match is None:
            continue
        value, depth = match.group("value").strip(), len(match.group("indent"))
        following = list(enumerate(lines[number:], start=number + 1))
        if value.startswith(("|", ">")):  # a block: every line indented deeper than the key
            for offset, body in following:
                if body.strip() and _indent(body) <= depth:
                    break
                if body.strip() and not body.strip().startswith("#"):
                    found.append(Command(body.strip(), f"{t.rel(path)}:{offset}"))
        elif value == "":  # a list of commands (a nested mapping is read by its own keys)
            for offset, body in following:
                if not body.strip() or body.strip().startswith("#"):
                    continue
                if _indent(body) < depth or (_indent(body) == depth and not body.lstrip().startswith("- ")):
                    break
                if body.lstrip().startswith("- ") and not COMMAND_KEY.match(body):
                    found.append(Command(body.strip()[2:].strip("'\""), f"{t.rel(path)}:{offset}"))
        else:
            parts = re.split(r"\s*,\s*", value.strip("[]")) if value.startswith("[") else [value]
            found += [Command(part.strip("'\""), where) for part in parts]
    return found


def commands(t: Target, system: str, path: Path) -> list[Command]:
    """Every command line the CI file runs (or action it uses), with where it is written."""
    if system == "Jenkins":
        text = t.text(path)
        return [
            Command(line.strip(), f"{t.rel(path)}:{text[: m.start()].count(chr(10)) + 1}")
            for m in JENKINS_STEP.finditer(text)
            for line in m.group("body").splitlines()
            if line.strip()
        ]
    if system == "a CI script" or sources.logical_suffix(path) not in {".yml", ".yaml"}:
        return [Command(line.strip(), f"{t.rel(path)}:{where}") for where, line in t.lines(path)]
    return _yaml_commands(t, path)


def _parts(text: str) -> list[list[str]]:
    """A shell line split at ``&&``, ``||`` and ``;``, each part as tokens without env assignments or wrappers."""
    parts = []
    for piece in re.split(r"&&|\|\||;", text):
        try:
            tokens = shlex.split(piece, comments=True)
        except ValueError:
            tokens = piece.split()
        while tokens and (re.match(r"^\w+=", tokens[0]) or tokens[0] in WRAPPERS):
            tokens = tokens[1:]
        if tokens:
            parts.append(tokens)
    return parts


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _as_lines(value: object) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, list):
        return [line for item in value for line in _as_lines(item)]
    if isinstance(value, dict):
        keys = ("run", "cmd", "cmds", "shell", "script", "sequence", "commands", "call")
        return [line for key in keys for line in _as_lines(value.get(key))]
    return []


def _make_recipes(path: Path, targets: list[str]) -> list[tuple[int, str]]:
    lines = path.read_text(errors="replace").splitlines()
    rules: dict[str, tuple[list[str], list[tuple[int, str]]]] = {}
    current: list[tuple[int, str]] | None = None
    first = None
    for number, line in enumerate(lines, start=1):
        rule = re.match(r"^([\w./%-]+(?:\s+[\w./%-]+)*)\s*:(?![=])\s*([^#;]*)", line)
        if rule and not line.startswith("\t"):
            current = []
            for name in rule.group(1).split():
                rules[name] = (rule.group(2).split(), current)
                first = first or (name if not name.startswith(".") else None)
        elif line.startswith("\t") and current is not None:
            current.append((number, line.strip().lstrip("@-")))
        elif line.strip() and not line.startswith("\t"):
            current = None
    wanted = targets or ([first] if first else [])
    recipes = [step for name in wanted for step in rules.get(name, ([], []))[1]]
    prerequisites = [p for name in wanted for p in rules.get(name, ([], []))[0] if p in rules]
    return recipes + [step for name in prerequisites for step in rules[name][1]]


def _named_lines(path: Path, name: str, header: str) -> list[tuple[int, str]]:
    """Indented lines under ``name:`` (justfile recipes, Taskfile tasks) in a plain-text runner file."""
    lines, found, depth = path.read_text(errors="replace").splitlines(), [], None
    for number, line in enumerate(lines, start=1):
        if depth is None and re.match(header.format(name=re.escape(name)), line):
            depth = _indent(line)
        elif depth is not None and line.strip() and _indent(line) <= depth:
            break
        elif depth is not None and line.strip():
            found.append((number, line.strip().lstrip("@- ")))
    return found


def expand(t: Target, command: Command, folders: list[Path]) -> list[Command]:
    """The command, and what the runner it calls runs for it (one level, not further)."""
    out = [command]
    for tokens in _parts(command.text):
        out += _through_runner(t, tokens, folders)
    return out


def _first(folders: list[Path], *names: str) -> Path | None:
    return next((f / n for f in folders for n in names if (f / n).is_file()), None)


def _through_runner(t: Target, tokens: list[str], folders: list[Path]) -> list[Command]:
    head, args = Path(tokens[0]).name, [a for a in tokens[1:] if not a.startswith("-")]
    if head == "cd" and args:
        folders.insert(0, folders[-1] / args[0])
        return []

    def at(path: Path, steps: list[tuple[int, str]], via: str) -> list[Command]:
        return [Command(text, f"{t.rel(path)}:{number}", via) for number, text in steps]

    if head in {"make", "gmake"}:
        chdir = tokens[tokens.index("-C") + 1] if "-C" in tokens[:-1] else None
        where = [folders[-1] / chdir] if chdir else folders
        makefile = _first(where, "Makefile", "makefile", "GNUmakefile")
        targets = [a for a in args if "=" not in a and a != chdir]
        return at(makefile, _make_recipes(makefile, targets), f"make {' '.join(targets)}") if makefile else []
    if head == "just" and (justfile := _first(folders, "justfile", "Justfile", ".justfile")):
        return at(justfile, _named_lines(justfile, args[0] if args else "default", r"^@?{name}\b[^:=]*:"), "just")
    if head == "task" and (taskfile := _first(folders, "Taskfile.yml", "Taskfile.yaml")):
        return at(taskfile, _named_lines(taskfile, args[0] if args else "default", r"^\s+{name}:\s*$"), "task")
    if head == "mise" and args:
        name = args[1] if args[0] in {"run", "r"} and len(args) > 1 else args[0]
        config = _first(folders, "mise.toml", ".mise.toml")
        tasks = _toml(config).get("tasks", {}) if config else {}
        task = tasks.get(name, {})
        names = [name, *[d for d in (task.get("depends", []) if isinstance(task, dict) else []) if d in tasks]]
        lines = [line for n in names for line in _as_lines(tasks.get(n))]
        return [Command(line, t.rel(config) if config else "mise.toml", f"mise task {name}") for line in lines]
    if head in {"tox", "nox"}:
        config = _first(folders, "tox.ini", "noxfile.py", "setup.cfg")
        if config is None:
            return []
        text = config.read_text(errors="replace").splitlines()
        keep = [(n, line.strip()) for n, line in enumerate(text, start=1) if re.search(r"pytest|unittest|run\(", line)]
        return at(config, keep, head)
    if head in {"invoke", "inv"} and args and (tasks_py := _first(folders, "tasks.py")):
        name = args[0].replace("-", "_")
        return at(tasks_py, _named_lines(tasks_py, name, r"^def {name}\("), f"invoke {args[0]}")
    if head == "poe" or (head == "poetry" and args[:1] == ["poe"]):
        name = args[-1] if args else ""
        config = _first(folders, "pyproject.toml")
        tasks = _toml(config).get("tool", {}).get("poe", {}).get("tasks", {}) if config else {}
        return [Command(line, "pyproject.toml", f"poe task {name}") for line in _as_lines(tasks.get(name))]
    if head in RUN_VERBS and args[:1] == ["run"] and len(args) > 1:
        rest = tokens[tokens.index("run") + 1 :]
        while rest and rest[0].startswith("-"):  # uv run --frozen -m invoke test: what runs is "invoke test"
            rest = rest[1:]
        scripts = _script(t, head, args[1], folders)
        return scripts or (_through_runner(t, rest, folders) if rest and rest[0] not in RUN_VERBS else [])
    if (head in {"bash", "sh", "source", "."} and args) or head.endswith(".sh"):
        script = _first(folders, args[0] if head in {"bash", "sh", "source", "."} else tokens[0])
        return at(script, [(int(w), line) for w, line in t.lines(script) if w.isdigit()], "script") if script else []
    files = [_first(folders, a) for a in args if a.endswith((".yaml", ".yml"))]
    return [c for f in files if f is not None for c in _yaml_commands(t, f)]


def _script(t: Target, runner: str, name: str, folders: list[Path]) -> list[Command]:
    """``pdm run test`` and friends: the script of that name in the runner's configuration, if it is one."""
    pyproject = _first(folders, "pyproject.toml")
    tool = _toml(pyproject).get("tool", {}) if pyproject else {}
    env, _, script = name.rpartition(":")
    tables: dict[str, Any] = {
        "pdm": tool.get("pdm", {}).get("scripts", {}),
        "rye": tool.get("rye", {}).get("scripts", {}),
        "pixi": tool.get("pixi", {}).get("tasks", {}),
        "hatch": tool.get("hatch", {}).get("envs", {}).get(env or "default", {}).get("scripts", {}),
        "poetry": tool.get("poe", {}).get("tasks", {}),
        "uv": tool.get("poe", {}).get("tasks", {}),
    }
    if runner == "pipenv" and (pipfile := _first(folders, "Pipfile")):
        tables["pipenv"] = _toml(pipfile).get("scripts", {})
    value = tables.get(runner, {}).get(script if runner == "hatch" else name)
    where = "Pipfile" if runner == "pipenv" else "pyproject.toml"
    return [Command(line, where, f"{runner} script {name}") for line in _as_lines(value)]


# Installing a tool is not running it: "pip install pytest" runs no test.
INSTALLING = re.compile(
    r"^\s*((uv\s+)?pip3?\s+install|python3?\s+-m\s+pip\s+install|uv\s+(sync|add)|poetry\s+(install|add)"
    r"|pipx\s+install|conda\s+install|mamba\s+install|apt(-get)?\s+install|npm\s+(install|ci)|brew\s+install)\b"
)


def steps(t: Target, files: list[tuple[str, Path]]) -> Iterator[tuple[str, Path, Command, Command]]:
    """(system, file, command, step) for every command of every CI file and what its runner runs for it."""
    for system, path in files:
        base = project_root(path, t.root)
        work = [base / m.group(1) for m in re.finditer(r"working-directory:\s*['\"]?([^'\"\s]+)", t.text(path))]
        folders = [f for f in work if f.is_dir()] + [base, t.root]
        for command in commands(t, system, path):
            for step in expand(t, command, list(folders)):
                yield system, path, command, step


def kinds(text: str) -> set[str]:
    """What a command line does, part by part (``pip install pytest && pytest``: the second part tests)."""
    parts = [part for part in re.split(r"&&|\|\||;", text) if not INSTALLING.match(part)]
    return {kind for kind, pattern in KINDS.items() for part in parts if re.search(pattern, part)}
