"""The README's promises: its two commands, CI's use of the test command,
and the links into the docs (issue 11: the README is an overview, the two
commands and links)."""

import pathlib
import re
import shlex

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _first_code_block_commands():
    """The commands of the README's first fenced block, comments dropped."""
    match = re.search(r"^```sh\n(.*?)^```", README.read_text(), re.M | re.S)
    assert match, "README.md has no ```sh block"
    commands = []
    for line in match.group(1).splitlines():
        command = line.split("#", 1)[0].strip()
        if command:
            commands.append(command)
    return commands


def _script_commands(path):
    """Command lines of a shell script, comments and blank lines dropped."""
    lines = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def test_readme_starts_with_the_demo_and_the_test_command():
    assert _first_code_block_commands() == ["scripts/demo", "scripts/test"]
    before = README.read_text().split("```sh", 1)[0]
    assert "\n## " not in before, "the two commands must come first"


@pytest.mark.parametrize("script", ["scripts/demo", "scripts/test"])
def test_readme_commands_exist_and_are_executable(script):
    path = ROOT / shlex.split(script)[0]
    assert path.is_file(), script
    assert path.stat().st_mode & 0o111, "%s is not executable" % script


def test_ci_runs_the_readme_test_command_as_written():
    test_command = _first_code_block_commands()[1]
    assert test_command in _script_commands(ROOT / ".ci" / "run")


def _relative_links():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    return sorted({link for link in links if "://" not in link})


def test_readme_has_links_into_the_docs():
    assert any(link.startswith("doc/source/") for link in _relative_links())


@pytest.mark.parametrize("link", _relative_links())
def test_readme_links_resolve(link):
    assert (ROOT / link).exists(), "README.md links to missing %s" % link
