"""Where an option comes from: the config files a command read.

Error messages for a missing or wrong option name the option and the file,
so an operator knows what to edit: ``[api_database] connection is not set
in /etc/nova/nova.conf (--config-file)``. Everything here reads
oslo.config's public API only (``config_file``, ``config_dir``,
``cfg.ConfigParser``) and never imports Nova.
"""

from __future__ import annotations

import glob
import os

from oslo_config import cfg


class InvalidOptionError(ValueError):
    """An option's value in a config file is not valid; one-line message."""


def config_files(conf: cfg.ConfigOpts) -> list[str]:
    """The files ``conf`` was parsed from, in the order oslo.config read them.

    ``--config-file`` files (or the ones found in the default places, e.g.
    ``/etc/nova/nova.conf``), then each ``--config-dir``'s ``*.conf`` in
    name order. Empty when no file was read.
    """
    files = [os.path.abspath(path) for path in (conf.config_file or [])]
    for directory in conf.config_dir or []:
        files.extend(sorted(glob.glob(os.path.join(directory, "*.conf"))))
    return files


def where(conf: cfg.ConfigOpts) -> str:
    """``'in /etc/nova/nova.conf (--config-file)'`` or why there is no file."""
    files = config_files(conf)
    if not files:
        return ("in any config file: none was read (give --config-file; by "
                "default nova.conf is looked for in ~/.nova/, ~/, "
                "/etc/nova/ and /etc/)")
    return "in %s (--config-file)" % ", ".join(files)


def file_setting(conf: cfg.ConfigOpts, group: str, name: str) -> str | None:
    """The last config file that sets ``[group] name``, or None."""
    found = None
    for path in config_files(conf):
        sections: dict[str, dict[str, list[str]]] = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except (OSError, cfg.ParseError):
            continue
        if name in sections.get(group, {}):
            found = path
    return found


def origin(conf: cfg.ConfigOpts, group: str, name: str) -> str:
    """``'in FILE'`` for a set option, else :func:`where`."""
    path = file_setting(conf, group, name)
    return "in %s" % path if path else where(conf)


def validate(conf: cfg.ConfigOpts, groups: list[str]) -> None:
    """Read every registered option of ``groups`` once.

    oslo.config converts values only when they are read, so a wrong value
    would otherwise fail deep inside a command. Raises
    InvalidOptionError naming the option, its file and oslo.config's
    reason, e.g. ``[hwabi_scheduler] capabilities_operators in
    /etc/nova/nova.conf is not valid: Valid values are [nova, typed], but
    found 'bogus'``.
    """
    for group in groups:
        for name in sorted(conf[group]):
            try:
                conf[group][name]
            except cfg.Error as exc:
                # A bad value, or a "$name" substitution naming no option.
                reason = str(exc).split(" is not valid: ", 1)[-1]
                raise InvalidOptionError(
                    "[%s] %s %s is not valid: %s"
                    % (group, name, origin(conf, group, name), reason)
                ) from None


def file_error(exc: cfg.Error) -> str:
    """One line for an oslo.config error raised while parsing the files."""
    if isinstance(exc, cfg.ConfigFilesNotFoundError):
        return "config file not found: %s (--config-file)" % ", ".join(
            exc.config_files)
    if isinstance(exc, cfg.ConfigFileParseError):
        return "config file %s cannot be parsed: %s" % (
            exc.config_file, exc.msg)
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# What oslo.config raises, unwrapped, for a config file it cannot read as
# text: a directory or an unreadable path (OSError), a binary file such as
# a sqlite database (UnicodeDecodeError).
UNREADABLE_FILE_ERRORS = (OSError, UnicodeDecodeError)


def given_config_files(argv: list[str]) -> list[str]:
    """The ``--config-file`` values of a command line, in order, as given
    (``--config-file X`` and ``--config-file=X``)."""
    files = []
    for index, word in enumerate(argv):
        if word.startswith("--config-file="):
            files.append(word.split("=", 1)[1])
        elif word == "--config-file" and index + 1 < len(argv):
            files.append(argv[index + 1])
    return files


def _irregular_reason(path: str) -> str | None:
    """Why ``path`` must not even be opened as a config file, or None.

    A device or a pipe (``/dev/zero``, a FIFO) would make the parser read
    forever or block: it is refused before anything reads it.
    ``/dev/null``, the usual "no config", reads empty and is allowed.
    """
    if not os.path.exists(path) or os.path.isfile(path) \
            or os.path.isdir(path) or os.path.samefile(path, os.devnull):
        return None
    return "not a regular file (a device, a pipe or a socket)"


def irregular_config_file(argv: list[str]) -> str | None:
    """One line for the first ``--config-file`` of ``argv`` that is no
    regular file (see :func:`_irregular_reason`), or None. Call before
    oslo.config parses ``argv``."""
    for path in given_config_files(argv):
        reason = _irregular_reason(path)
        if reason:
            return ("config file %r (--config-file) cannot be read: it is "
                    "%s; give nova.conf's path" % (path, reason))
    return None


def _unreadable_reason(path: str) -> str | None:
    """Why ``path`` cannot be read as a UTF-8 text file, or None."""
    if not path:
        return "an empty file name"
    if os.path.isdir(path):
        return "a directory, not a file"
    irregular = _irregular_reason(path)
    if irregular:
        return irregular
    try:
        with open(path, encoding="utf-8") as stream:
            stream.read()
    except FileNotFoundError:
        return None  # oslo.config names missing files itself
    except UnicodeDecodeError as exc:
        return ("not a text file (byte %d is not UTF-8: a database "
                "or another binary file?)" % exc.start)
    except OSError as exc:
        return "unreadable (%s)" % (exc.strerror or exc)
    return None


def unreadable_file_error(argv: list[str], exc: Exception) -> str:
    """One line for a config file oslo.config could not read as text.

    ``exc`` is what oslo.config raised (see ``UNREADABLE_FILE_ERRORS``);
    it does not say which file, so each ``--config-file`` of ``argv`` is
    tried: ``config file '/var/lib/nova/nova.sqlite' (--config-file)
    cannot be read: not a text file (...)``.
    """
    for path in given_config_files(argv):
        reason = _unreadable_reason(path)
        if reason:
            return ("config file %r (--config-file) cannot be read: it is "
                    "%s; give nova.conf's path" % (path, reason))
    # A file found in a default place or through --config-dir.
    named = getattr(exc, "filename", None)
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return "a config file%s cannot be read: %s" % (
        " (%s)" % named if named else "", detail)
