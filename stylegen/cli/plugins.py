"""`stylegen plugins`: every registered plugin object, built-in and third-party alike."""

from __future__ import annotations

import click

from stylegen.cli._output import echo_json, table


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins_command(as_json: bool) -> None:
    """List plugins: name, kind, package, version."""
    from stylegen import PLUGIN_KINDS, plugin_registry

    rows = sorted(plugin_registry().entries, key=lambda e: (list(PLUGIN_KINDS).index(e.kind), e.name))
    if as_json:
        echo_json(
            [
                {
                    "name": e.name,
                    "kind": e.kind,
                    "package": e.package,
                    "version": e.version,
                    "plugin": e.plugin,
                    "description": e.description,
                }
                for e in rows
            ]
        )
        return
    table(
        ["NAME", "KIND", "PACKAGE", "VERSION", "DESCRIPTION"],
        [[e.name, e.kind, e.package, e.version, e.description] for e in rows],
    )


COMMANDS = [plugins_command]
