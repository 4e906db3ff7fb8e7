"""Docs stay true: every CLI command has help and is in the README, every API command and
config key is documented."""

from pathlib import Path

import click

from hub.api import COMMANDS
from hub.cli import cli
from hub.config import reference_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_cli_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name, command in cli.all_commands().items():
        assert command.help, f"hub {name} has no help text"
        assert f"hub {name}" in readme, f"README does not mention `hub {name}`"
        if isinstance(command, click.Group):
            for sub, subcommand in command.commands.items():
                assert subcommand.help, f"hub {name} {sub} has no help text"


def test_every_api_command_is_documented():
    doc = (ROOT / "docs" / "local-api.md").read_text()
    for cmd in COMMANDS:
        assert f"`{cmd}`" in doc, f"docs/local-api.md does not document {cmd}"


def test_configuration_reference_is_current():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert doc == reference_markdown(), "regenerate: python -m hub.config > docs/configuration.md"
