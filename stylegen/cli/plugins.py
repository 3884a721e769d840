"""`stylegen plugins`: every registered plugin object, built-in and third-party alike."""

from __future__ import annotations

import click

from stylegen.cli._output import echo_json, table, warn


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins_command(as_json: bool) -> None:
    """List plugins: name, kind, package, version.

    An object a plugin registered under a built-in's name is listed as skipped (built-in
    names win). Every plugin warning is shown here, also those other commands print only
    once a day.
    """
    from stylegen import PLUGIN_KINDS, plugin_registry

    reg = plugin_registry()
    for message in reg.warnings:
        if message not in reg.printed:
            warn(message)
            reg.printed.add(message)
    order = list(PLUGIN_KINDS)
    rows = sorted(
        [(e, "") for e in reg.entries] + [(e, "skipped: a built-in has this name") for e in reg.skipped],
        key=lambda r: (order.index(r[0].kind), r[0].name, r[0].package != "stylegen"),
    )
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
                    **({"skipped": why} if why else {}),
                }
                for e, why in rows
            ]
        )
        return
    table(
        ["NAME", "KIND", "PACKAGE", "VERSION", "DESCRIPTION"],
        [
            [e.name, e.kind, e.package, e.version, f"({why}) {e.description}" if why else e.description]
            for e, why in rows
        ],
    )


COMMANDS = [plugins_command]
