"""Settings from a file: `tokenaudit.toml`, `--config FILE`, or `[tool.tokenaudit]` in
`pyproject.toml`, read with `tomllib`.

Every option of `scan` may be set by its long name without the dashes (`fail-on`, `tz`,
`identities`; `inputs` for the paths; `_` and `-` are the same), so a new option is covered the
day it is added: the keys, the expected TOML types and the validation all come from the command's
own parameters (`command.params`). The file's values become Click's `default_map`, so the command
line always wins, and each value is checked by the same coercion as the command line (ranges,
choices). An unknown key, a key given twice or a value of the wrong type or range is a
`ConfigError` (exit 2) naming the key and `file:line`: a typo never drops a setting silently.
Relative paths in a file are relative to the file's directory (a cron job's working directory
does not matter).

`tomllib` gives no line numbers for keys: `key_line` finds a key's line by scanning the text
(its table, then the key at the start of a line, bare or quoted).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tokenaudit.errors import ConfigError, InputMissingError, path_text
from tokenaudit.sidefiles import read_side_file

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: The file looked for in the working directory, then `pyproject.toml`'s table.
CONFIG_NAME: Final = "tokenaudit.toml"
PYPROJECT: Final = "pyproject.toml"
PYPROJECT_TABLE: Final = ("tool", "tokenaudit")
#: The key of the command's positional paths.
INPUTS_KEY: Final = "inputs"
#: Parameters a file cannot set: the file itself, and `--help`.
NOT_SETTABLE: Final = frozenset({"config", "help"})
#: Metavars of options whose values are paths (made relative to the file's directory).
PATH_METAVARS: Final = frozenset({"PATH", "PATH...", "FILE", "GITDIR", "KEYFILE", "DIR"})


@dataclass(frozen=True)
class Setting:
    """One value from a file: the parameter it sets, the value handed to Click, and where."""

    name: str
    key: str
    value: Any
    where: str


@dataclass(frozen=True)
class ConfigFile:
    """A loaded settings file (or table of `pyproject.toml`)."""

    path: Path
    sha256: str
    settings: dict[str, Setting] = field(default_factory=dict)
    table: str | None = None

    def default_map(self) -> dict[str, Any]:
        """Parameter name → value, for `Context.default_map`."""
        return {name: s.value for name, s in self.settings.items()}


def option_key(param: Any) -> str:
    """A parameter's key in a file: its long option name without dashes, `inputs` for the
    positional paths."""
    if getattr(param, "param_type_name", "") == "argument":
        return INPUTS_KEY
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return opts[0][2:] if opts else str(param.name).replace("_", "-")


def settable(params: Sequence[Any]) -> dict[str, Any]:
    """Key → parameter, for every parameter a file may set."""
    return {option_key(p): p for p in params if p.name not in NOT_SETTABLE}


def discover(cwd: Path) -> tuple[Path, str | None] | None:
    """The settings file that applies in `cwd` without `--config`: `tokenaudit.toml`, else a
    `pyproject.toml` with a `[tool.tokenaudit]` table."""
    own = cwd / CONFIG_NAME
    if own.is_file():
        return own, None
    pyproject = cwd / PYPROJECT
    if pyproject.is_file():
        try:
            # NOTE: utf-8-sig: a byte order mark (Notepad writes one) is not TOML, and a
            # pyproject.toml with one had its [tool.tokenaudit] table ignored without a word.
            data = tomllib.loads(pyproject.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None  # NOTE: someone else's pyproject; only ours is reported when broken
        if isinstance(data.get("tool"), dict) and "tokenaudit" in data["tool"]:
            return pyproject, ".".join(PYPROJECT_TABLE)
    return None


def load_config(
    path: Path, params: Sequence[Any], ctx: Any, *, table: str | None = None
) -> ConfigFile:
    """Read and validate `path` (its `table`, dotted, when given) against `params`.

    Raises `InputMissingError` when it cannot be read and `ConfigError` (with `file:line`) when
    it is not valid TOML or a key or value is not one `scan` takes.
    """
    try:
        raw = read_side_file(path, "the settings file")
    except OSError as exc:
        raise InputMissingError(
            str(path), f"cannot read the settings file: {exc.strerror}"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path_text(path)}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, exc)) from None
    section = data
    header: tuple[str, ...] = ()
    if table is not None:
        header = tuple(table.split("."))
        for part in header:
            section = section.get(part, {}) if isinstance(section, dict) else {}
        if not isinstance(section, dict):
            # `[tool] tokenaudit = 5` in pyproject.toml ended in a traceback.
            raise ConfigError(
                f"{path_text(path)}:{key_line(text, header[:-1], header[-1])}: {table} must be "
                f"a table of settings, not {section!r}"
            )
    by_key = settable(params)
    found: dict[str, Setting] = {}
    for raw_key, value in section.items():
        line = key_line(text, header, raw_key)
        where = f"{path_text(path)}:{line}"
        key = raw_key.replace("_", "-")
        param = by_key.get(key)
        if param is None:
            raise ConfigError(f"{where}: unknown key {raw_key!r}{_suggest(key, by_key)}")
        if param.name in found:
            raise ConfigError(
                f"{where}: key {raw_key!r} sets {key!r} again (first at {found[param.name].where})"
            )
        value = _check_value(param, value, where, raw_key, base=path.parent)
        try:
            param.get_runtime_param().coerce(value, param=param, ctx=ctx)
        except Exception as exc:  # NOTE: Click's BadParameter, or a pydantic-style error
            message = getattr(exc, "message", None) or str(exc)
            raise ConfigError(f"{where}: key {raw_key!r}: {message}") from None
        found[param.name] = Setting(param.name, key, value, where)
    return ConfigFile(path, hashlib.sha256(raw).hexdigest(), found, table)


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    match = re.search(r"\(at line (\d+), column \d+\)", message)
    if match:
        return f"{path_text(path)}:{match.group(1)}: not valid TOML: {message[: match.start()].strip()}"
    return f"{path_text(path)}: not valid TOML: {message}"


def _suggest(key: str, by_key: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"{hint}; keys are the long names of `tokenaudit scan`'s options (see `tokenaudit config`)"
    )


def _shape(param: Any) -> str:
    """The TOML type a parameter takes: list, bool, int, number or string."""
    if param.multiple or param.nargs != 1:
        return "list"
    if getattr(param, "is_flag", False):
        return "bool"
    annotation = param.type_descriptor.annotation
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "number"
    return "string"


def is_path(param: Any) -> bool:
    """Whether a parameter's values are paths (by its metavar, or a `Path` annotation)."""
    annotation = getattr(param.type_descriptor, "annotation", None)
    return param.metavar in PATH_METAVARS or annotation is Path


def _check_value(param: Any, value: Any, where: str, key: str, *, base: Path) -> Any:
    """The value as Click takes it, or a `ConfigError` saying what the key expects."""
    shape = _shape(param)
    if isinstance(value, date | datetime) and shape == "string":
        value = value.isoformat()  # an unquoted TOML date, e.g. until = 2025-03-31
    expected = {
        "list": "a list of strings (or one string)",
        "bool": "true or false",
        "int": "a whole number",
        "number": "a number",
        "string": "a string",
    }[shape]
    if shape == "list":
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) for v in items):
            raise ConfigError(f"{where}: key {key!r}: expected {expected}, got {value!r}")
        return [_resolve(v, base) if is_path(param) else v for v in items]
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
    }[shape]
    if not ok:
        raise ConfigError(f"{where}: key {key!r}: expected {expected}, got {value!r}")
    if shape == "string" and is_path(param):
        return _resolve(value, base)
    return value


def _resolve(value: str, base: Path) -> str:
    if value == "-" or not value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def key_line(text: str, table: tuple[str, ...], key: str) -> int:
    """The 1-based line of `key` in `table` (dotted parts; () = the top level) of TOML `text`;
    the table's header line (or 1) when the key cannot be found by scanning."""
    want = ".".join(table)
    current = ""
    header_line = 1
    pattern = re.compile(r"""^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[=.]""")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            name = stripped.strip("[]").split("#")[0].strip()
            current = ".".join(part.strip().strip("\"'") for part in name.split("."))
            if current == want:
                header_line = number
            continue
        if current != want:
            continue
        match = pattern.match(line)
        if match and next(g for g in match.groups() if g is not None) == key:
            return number
    return header_line


# ----------------------------------------------------------------------------- effective settings


@dataclass(frozen=True)
class Effective:
    """One option's effective value and where it came from."""

    key: str
    value: Any
    source: str


def plain(value: Any) -> Any:
    """A parsed option value as plain data (TOML/JSON): enums by value, paths as strings."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def effective(
    params: Sequence[Any],
    values: Mapping[str, Any],
    sources: Mapping[str, str],
    loaded: ConfigFile | None,
) -> list[Effective]:
    """Every settable option with its value and source: `command line`, `environment`,
    the file's `path:line`, or `default`. `sources` maps a parameter to Click's source name
    (`COMMANDLINE`, `ENVIRONMENT`, `DEFAULT_MAP`, `DEFAULT`)."""
    out = []
    for key, param in settable(params).items():
        source = sources.get(param.name, "DEFAULT")
        if source == "DEFAULT_MAP" and loaded is not None and param.name in loaded.settings:
            where = loaded.settings[param.name].where
        else:
            where = {"COMMANDLINE": "command line", "ENVIRONMENT": "environment"}.get(
                source, "default"
            )
        out.append(Effective(key, plain(values.get(param.name)), where))
    return out


def as_toml(entries: Sequence[Effective], loaded: ConfigFile | None) -> str:
    """The effective settings as a settings file (unset options commented out), each line
    saying where its value came from."""
    head = f"# settings file: {loaded.path}" if loaded else "# settings file: none"
    if loaded is not None and loaded.table:
        head += f" [{loaded.table}]"
    lines = [head]
    width = max((len(_toml_entry(e)) for e in entries if e.value not in (None, [])), default=0)
    for e in entries:
        if e.value is None or e.value == []:
            lines.append(f"# {e.key} = (not set)".ljust(width) + f"  # {e.source}")
        else:
            lines.append(_toml_entry(e).ljust(width) + f"  # {e.source}")
    return "\n".join(lines) + "\n"


def _toml_entry(e: Effective) -> str:
    return f"{e.key} = {_toml_value(e.value)}"


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string is a JSON string
