"""Reading parameter files: YAML with duplicate keys refused, relative paths resolved against the file's folder,
a profile prepared by another (``prepared_by``), validation errors as messages naming the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from landslide_utils.config.base import ConfigError, KeyedError
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.notices import notify
from landslide_utils.paths import StudyPaths, find_root

__all__ = ['read_yaml_mapping', 'validation_messages', 'format_validation', 'coerce_values', 'PREPARED_SECTIONS', 'load_profile', 'load_experiment']


class _DuplicateKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that records keys given twice in one mapping (PyYAML silently keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []  # (key, first line, repeated line)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:  # noqa: FBT001
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                self.duplicates.append((str(key), seen[key], line))
            else:
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml_mapping(path: Path, *, what: str = "a YAML parameter file",
                      examples: str = "params/profiles/ and params/experiments/") -> dict[str, Any]:
    """The top-level mapping of a YAML parameter file; a clear error naming the file otherwise (missing, a
    folder, not text, not YAML, not a mapping).

    A key given twice in one mapping is a :class:`landslide_utils.notices.StudyWarning` naming both lines (the
    last value is used, as YAML loaders do), so it reaches the console."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found. Give the path of {what} (examples in {examples}).")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a file. Give the path of {what} (examples in {examples}).")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not UTF-8); give the path of {what} "
                          f"(examples in {examples})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: a binary file, not YAML; give the path of {what} (examples in {examples})")
    loader = _DuplicateKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{path}: expected a mapping of keys at the top level (key: value lines), got {got}")
    if loader.duplicates:

        for key, first, again in loader.duplicates:
            notify(f"{path}: key '{key}' is given twice (lines {first} and {again}); the value of line {again} is "
                   "used. Delete one of them")
    return data


def validation_messages(exc: ValidationError, *, unknown_hint: str = "") -> list[tuple[str, str]]:
    """(dotted key, message) of every error of a pydantic validation, with the value that caused it.

    Model-level checks that name their own key (areas, experiment training keys) report that key."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, KeyedError):
            loc = ".".join(filter(None, [loc, ctx_err.key]))
            msg = ctx_err.message
        elif err["type"] == "extra_forbidden":
            msg = "unknown key" + unknown_hint
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        got = err.get("input")
        if err["type"] not in ("extra_forbidden", "missing") and not isinstance(got, dict):
            msg += f" (got {got!r})"
        out.append((loc or "<top level>", msg))
    return out


def format_validation(path: Path, exc: ValidationError, *, prefix: str = "") -> ConfigError:
    hint = " (check the spelling; see params/profiles/paper.yaml for every key)"
    lines = [f"  key '{prefix}{loc}': {msg}" for loc, msg in validation_messages(exc, unknown_hint=hint)]
    return ConfigError(f"{path}: invalid parameters:\n" + "\n".join(lines))


def coerce_values(data: Any) -> Any:
    """YAML gives lists; the schema's tuples are strict. Paths arrive as strings."""
    if isinstance(data, dict):
        return {k: coerce_values(v) for k, v in data.items()}
    if isinstance(data, list):
        return tuple(coerce_values(v) for v in data)
    return data


_PATH_FIELDS = {"pretrained_weights", "prepared_by"}


#: the sections that define a study's prepared data (steps 01-03); a profile with ``prepared_by`` takes them from
#: that profile
PREPARED_SECTIONS: tuple[str, ...] = ("data", "areas", "tiling", "factors", "enhance")


#: sections whose listed keys are paths (every key of ``files`` and ``paths`` is)
_PATH_KEYS_OF = {"chips": {"train", "test"}, "extra_tests": {"path"}}


def _resolve_paths(data: Any, base: Path, key: str | None = None, in_files: bool = False,
                   keys_here: frozenset[str] = frozenset()) -> Any:
    """Resolve the path values of a profile against ``base``; ``keys_here``: the path keys of the mapping that
    holds ``data`` (a list's items share their list's key)."""
    if isinstance(data, dict):
        mine = frozenset(_PATH_KEYS_OF.get(key or "", ()))
        return {k: _resolve_paths(v, base, k, in_files or k in ("files", "paths"), mine) for k, v in data.items()}
    if isinstance(data, tuple):
        return tuple(_resolve_paths(v, base, key, in_files, keys_here) for v in data)
    if isinstance(data, str) and (in_files or key in _PATH_FIELDS or key in keys_here):
        if not data.strip():
            return data  # refused by the schema: an empty path would mean the profile's own folder
        p = Path(data).expanduser()
        return p if p.is_absolute() else (base / p)
    return data


def _coerced(path: Path) -> Any:
    try:
        return coerce_values(read_yaml_mapping(path))
    except RecursionError:
        raise ConfigError(f"{path}: a YAML alias refers to itself (e.g. 'a: &x [*x]'); write the values out") from None


def load_profile(path: str | Path) -> Profile:
    """Load and validate a profile; relative input paths are resolved against the profile's folder.

    Raises:
        ConfigError: naming the file and every offending key.
    """
    path = Path(path)
    data = _resolve_paths(_coerced(path), path.resolve().parent)
    if isinstance(data, dict) and data.get("prepared_by") is not None:
        data = _with_preparer(path, data)
    try:
        prof = Profile.model_validate(data)
    except ValidationError as exc:
        raise format_validation(path, exc) from None
    return prof.model_copy(update={"source_path": path})


def _with_preparer(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a profile with ``prepared_by``) completed with the preparing profile's data sections and with
    ``paths.prepared`` / ``paths.enhanced`` pointing at that profile's step 01 and step 03 outputs."""
    owner_path = Path(data["prepared_by"])
    if not owner_path.is_file():
        raise ConfigError(f"{path}: key 'prepared_by': {owner_path} not found; name the profile whose steps 01-03 "
                          "prepared the data (a path relative to this file, e.g. quick.yaml)")
    if owner_path.resolve() == path.resolve():
        raise ConfigError(f"{path}: key 'prepared_by' names this profile itself; name another profile")
    given = [k for k in PREPARED_SECTIONS if k in data] + \
        [f"paths.{k}" for k in ("prepared", "enhanced") if k in (data.get("paths") or {})]
    if given:
        raise ConfigError(f"{path}: key '{given[0]}': set by the profile named in prepared_by ({owner_path.name}); "
                          "remove it here (steps 01-03 and their settings are that profile's)")
    owner = load_profile(owner_path)
    if owner.prepared_by is not None:
        raise ConfigError(f"{path}: key 'prepared_by': {owner_path.name} is itself prepared by "
                          f"{owner.prepared_by.name}; name that profile instead")
    dumped = owner.model_dump(mode="python", exclude={"source_path"})
    try:  # the preparing profile's data lie under the project holding it (else the one run from)
        root = find_root(owner_path.resolve().parent)
    except FileNotFoundError:
        try:
            root = find_root()
        except FileNotFoundError:
            root = Path.cwd()
    owner_paths = StudyPaths.of(owner, root)
    return {**data, **{k: dumped[k] for k in PREPARED_SECTIONS if dumped.get(k) is not None},
            "prepared_by": owner_path.resolve(),
            "paths": {**(data.get("paths") or {}), "prepared": owner_paths.prepared.resolve(),
                      "enhanced": owner_paths.enhanced.resolve()}}


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file (``params/experiments/*.yaml``); a relative
    ``model_options.pretrained_weights`` is resolved against the file's folder, as a profile's paths are.

    Raises:
        ConfigError: naming the file and every offending key.
    """
    path = Path(path)
    data = _coerced(path)
    if isinstance(data, dict) and isinstance(data.get("model_options"), dict):  # weights beside the file
        data["model_options"] = _resolve_paths(data["model_options"], path.resolve().parent)
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise format_validation(path, exc) from None
    return exp.model_copy(update={"source_path": path})
