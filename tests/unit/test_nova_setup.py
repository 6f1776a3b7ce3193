"""The admin commands' Nova start-up when Nova itself is missing."""

from unittest import mock

import pytest

from nova_hwabi.cmd import nova_setup


def _missing(name):
    error = ModuleNotFoundError("No module named %r" % name)
    error.name = name
    return error


def test_missing_nova_is_one_line_naming_the_environment():
    with mock.patch.object(nova_setup.compat, "use_native_threading",
                           side_effect=_missing("nova.monkey_patch")), \
            pytest.raises(nova_setup.ConfigError) as caught:
        nova_setup.import_nova_conf()
    message = str(caught.value)
    assert "Nova is not installed in this Python environment" in message
    assert "\n" not in message


def test_other_missing_modules_are_not_hidden():
    with mock.patch.object(nova_setup.compat, "use_native_threading",
                           side_effect=_missing("lxml")), \
            pytest.raises(ModuleNotFoundError):
        nova_setup.import_nova_conf()
