"""`stylegen plugin new NAME --kind KIND`: write a plugin package whose test passes as written."""

from __future__ import annotations

from pathlib import Path

import click

from stylegen import PLUGIN_TEMPLATES


@click.group("plugin")
def plugin_group() -> None:
    """Write plugins (`stylegen plugins` lists the installed ones)."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(list(PLUGIN_TEMPLATES)), required=True, help="What the plugin provides.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package's folder (stylegen-NAME).",
)
@click.option("--description", help="One line saying what the plugin does.")
def new_command(name: str, kind: str, directory: Path, description: str | None) -> None:
    """Write a plugin package, stylegen-NAME/, whose tests pass as written.

    The package: a pyproject.toml with the entry point in the `stylegen` group, a module
    with a working KIND plugin called NAME, and its tests (`pip install -e '.[test]' &&
    pytest`). Prints the files written."""
    from stylegen import PluginNames, check_plugin_name, new_plugin

    names = PluginNames.of(name)
    check_plugin_name(names, kind)
    target = new_plugin(name, kind, directory, description)
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        click.echo(str(path))
    click.echo(
        f"next: cd {target} && pip install -e '.[test]' && pytest   (then `stylegen plugins` lists {names.name!r})",
        err=True,
    )


COMMANDS = [plugin_group]
