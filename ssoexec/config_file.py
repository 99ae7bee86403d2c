"""The user's AWS config file, edited as text: sections found as configparser finds them,
`key = value` lines set in place, new sections appended, and the result written atomically
beside a backup, once botocore reads it back as expected. The file is never re-serialised,
so comments, order and spacing stay byte for byte."""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError

from ssoexec.aws_files import unreadable
from ssoexec.errors import ConfigError, SsoexecError
from ssoexec.timestamps import utcnow

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_HEADER = re.compile(r"\[(?P<header>.+)\]")  # configparser's SECTCRE
_OPTION = re.compile(r"(?P<indent>\s*)(?P<key>.*?)(?P<sep>\s*[=:]\s*)(?P<value>.*)")


@dataclass(frozen=True)
class Expected:
    """What a write must add and change, to check the new file against."""

    added: dict[str, dict[str, str]]  # section name -> its keys, appended
    updates: dict[str, dict[str, str]]  # profile name -> keys set in it
    removed: tuple[str, ...] = ()  # profile names whose section is removed


def _profile_headers(text: str) -> dict[str, str]:
    """Profile name -> the section (as in the file) botocore reads it from: the last one."""
    headers = {}
    for section in scan(split_lines(text)):
        name = profile_of(section.header)
        if name is not None:
            headers[name] = section.header  # the last one wins, as in botocore
    return headers


def edits_for(text: str, updates: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Section name (as in the file) -> keys to set, from profile name -> keys to set."""
    headers = _profile_headers(text)
    return {headers[name]: keys for name, keys in updates.items() if name in headers}


def removed_for(text: str, names: tuple[str, ...]) -> set[str]:
    """Section names (as in the file) to remove, from profile names."""
    headers = _profile_headers(text)
    return {headers[name] for name in names if name in headers}


def new_text(
    text: str,
    added: dict[str, dict[str, str]],
    edits: dict[str, dict[str, str]],
    *,
    today: str,
    removed: set[str] = frozenset(),
) -> str:
    """`text` with `edits` made (section -> keys), the `removed` sections taken out and the
    `added` sections (section -> keys) appended, all else untouched."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = split_lines(text)
    for section in reversed(scan(lines)):
        if section.header in removed:
            lines[section.start : _removal_end(lines, section)] = []
        elif section.header in edits:
            body = set_keys(lines[section.start : section.end], edits[section.header], newline)
            lines[section.start : section.end] = body
    text = "".join(lines)
    blocks = [
        [f"[{header}]", *(f"{key} = {value}" for key, value in values.items())]
        for header, values in added.items()
    ]
    if not blocks:
        return text
    if text and not text.endswith(("\n", "\r")):
        text += newline
    if text and split_lines(text)[-1].strip():
        text += newline  # a blank line between the user's sections and ours
    added = [f"# Added by ssoexec configure on {today}"]
    for block in blocks:
        added.extend([*([""] if len(added) > 1 else []), *block])
    return text + newline.join(added) + newline


def _removal_end(lines: list[str], section: Section) -> int:
    """Where the removal of a section ends: after its last option line and the blank lines
    that follow it; comments after its last option (about the next section) stay."""
    end = section.start + 1
    for index in range(section.start + 1, section.end):
        value = lines[index].strip()
        if value and value[0] not in "#;":
            end = index + 1
    while end < section.end and not lines[end].strip():
        end += 1
    return end


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where configparser splits (\\n, \\r\\n, \\r)."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class Section:
    header: str  # the section name as configparser reads it
    start: int  # index of the header line
    end: int  # index of the line after its last one


def scan(lines: list[str]) -> list[Section]:
    """The sections of an INI text, found as configparser finds them: a `[...]` line that is not
    a continuation (indented deeper than the option above it) starts one; `#`/`;` lines are
    comments."""
    found: list[Section] = []
    header, start, indent_level, in_option = None, 0, 0, False
    for index, line in enumerate(lines):
        value = line.strip()
        if not value or value[0] in "#;":
            continue
        indent = len(line) - len(line.lstrip())
        if in_option and indent > indent_level:
            continue
        indent_level = indent
        match = _HEADER.match(value)
        if match:
            if header is not None:
                found.append(Section(header, start, index))
            header, start, in_option = match["header"], index, False
        else:
            in_option = header is not None
    if header is not None:
        found.append(Section(header, start, len(lines)))
    return found


def profile_of(header: str) -> str | None:
    """The profile a section defines, as botocore's build_profile_map maps section names."""
    if header == "default":
        return "default"
    if not header.startswith("profile"):
        return None
    try:
        parts = shlex.split(header)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def set_keys(section: list[str], values: dict[str, str], newline: str) -> list[str]:
    """A section's lines with each key of `values` set: its `key = value` line rewritten after
    the delimiter (continuation lines of the old value dropped), or a line added after the last
    option. Comments, blank lines and the other options stay as they are."""
    out, pending = [section[0]], dict(values)
    indent_level, dropping, insert_at, indent = 0, False, 1, ""
    for line in section[1:]:
        value = line.strip()
        level = len(line) - len(line.lstrip())
        if value and value[0] not in "#;" and insert_at > 1 and level > indent_level:
            if not dropping:  # a continuation line of the option above
                out.append(line)
                insert_at = len(out)
            continue
        if not value or value[0] in "#;":
            out.append(line)
            continue
        indent_level, dropping = level, False
        body = line.rstrip("\r\n")
        match = _OPTION.fullmatch(body)
        key = match["key"].rstrip().lower() if match else ""
        if key in pending:
            sep = match["sep"] if match["value"] else match["sep"].rstrip() + " "
            line = f"{match['indent']}{match['key']}{sep}{pending.pop(key)}{line[len(body) :]}"
            dropping = True
        out.append(line)
        insert_at, indent = len(out), match["indent"] if match else ""
    if pending:
        if not out[insert_at - 1].endswith(("\n", "\r")):
            out[insert_at - 1] += newline
        added = [f"{indent}{key} = {value}{newline}" for key, value in pending.items()]
        out[insert_at:insert_at] = added
    return out


def check_location(path: Path) -> None:
    """Fail before any network call if the config cannot be read or written where it is."""
    hint = "point AWS_CONFIG_FILE at a file you can write, or fix the permissions; nothing changed"
    if path.exists() and not path.is_file():
        raise ConfigError(f"the AWS config {path} is not a regular file", hint)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"cannot create the AWS config {path}: {folder} is not a folder", hint)
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK)):
        raise ConfigError(f"cannot write the AWS config {path}: permission denied", hint)


def read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise unreadable(path, error) from None


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")  # bytes botocore could not read stay as is


def write_config(path: Path, original: bytes | None, new: bytes, expected: Expected) -> Path | None:
    """Back up the old file beside it, then replace it atomically with `new` (same mode; 0600
    for a new file), once `new` is known to read back as `expected`. Returns the backup's path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if read(path) != original:
            raise ConfigError(
                f"{path} changed while ssoexec configure was running",
                "run ssoexec configure again",
            )
        backup = _backup(path, original) if original is not None else None
        try:
            _replace(path, new, original is not None, backup, expected)
        except BaseException:
            if backup is not None:
                backup.unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigError(
            f"cannot write the AWS config {path}: {error.strerror or error}",
            f"check the permissions and free space of {path.parent}; {path} was not changed",
        ) from None
    return backup


def _backup(path: Path, original: bytes) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    for counter in range(1, 100):
        suffix = "" if counter == 1 else f"-{counter}"
        backup = path.with_name(f"{path.name}.ssoexec-backup-{stamp}{suffix}")
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            _copy_mode(out.fileno(), backup, path.stat())
            out.write(original)
            out.flush()
            os.fsync(out.fileno())
        return backup
    raise FileExistsError(f"too many backups of {path} this second")


def _copy_mode(fd: int, path: Path, stat: os.stat_result) -> None:
    """Give the open file `fd` (at `path`) the mode of `stat`; Windows has no os.fchmod, and
    its os.chmod sets only the read-only flag."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.st_mode & 0o7777)
    else:
        os.chmod(path, stat.st_mode & 0o7777)


def _replace(path: Path, new: bytes, exists: bool, backup: Path | None, expected: Expected) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.ssoexec-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            if exists:
                stat = path.stat()
                _copy_mode(out.fileno(), Path(temp), stat)
                if hasattr(os, "fchown"):  # not on Windows, where files have no uid
                    with suppress(OSError):
                        os.fchown(out.fileno(), stat.st_uid, stat.st_gid)
            out.write(new)
            out.flush()
            os.fsync(out.fileno())
        check_reads_back(Path(temp), backup, expected)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    with suppress(OSError):
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def check_reads_back(new_file: Path, old_file: Path | None, expected: Expected) -> None:
    """botocore reads the new file as the old one (its backup) plus exactly the expected
    changes: a last guard against a scanning mistake that would harm the user's file."""
    try:
        old = raw_config_parse(str(old_file)) if old_file else {}
        new = raw_config_parse(str(new_file))
    except ConfigParseError:
        new = {None: {}}  # fails the check below
    old_text = decode(old_file.read_bytes()) if old_file else ""
    edits = edits_for(old_text, expected.updates)
    removed = removed_for(old_text, expected.removed)
    added = expected.added
    kept = all(
        new.get(name) == {**values, **edits.get(name, {})}
        for name, values in old.items()
        if name not in removed
    )
    written = all(
        all(new.get(name, {}).get(key) == value for key, value in values.items())
        for name, values in added.items()
    )
    if not (set(new) == (set(old) - removed) | set(added) and kept and written):
        raise SsoexecError(
            "the new AWS config would not read back as planned, so it was not written",
            "please report this, with the output of `ssoexec configure --dry-run`",
        )
