"""The `stylegen` command. One module per noun; torch is imported only inside commands.

Data goes to stdout, progress and errors to stderr. Exit codes: 0 success, 1 failure,
2 usage error, 130 interrupted. `STYLEGEN_DEBUG=1` prints the traceback behind an error.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from stylegen import __version__
from stylegen.errors import StylegenError, one_line


def _fail(message: str, code: int) -> None:
    if os.environ.get("STYLEGEN_DEBUG"):
        traceback.print_exc()
    click.echo("error: " + one_line(message), err=True)
    sys.exit(code)


class StylegenGroup(click.Group):
    """A click group whose errors are one line on stderr, with stylegen's exit codes."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        extra.pop("standalone_mode", None)  # errors are always handled here, so they look the same everywhere
        try:
            result = super().main(args, prog_name or "stylegen", standalone_mode=False, **extra)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            _fail(one_line(e.format_message()) + hint, e.exit_code)
        except click.ClickException as e:
            _fail(one_line(e.format_message()), e.exit_code)
        except click.Abort as e:
            if isinstance(e.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
                _fail("interrupted", 130)
            _fail("aborted", 1)
        except StylegenError as e:
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (e.g. `| head`): not an error
            sys.exit(0)
        except Exception as e:  # a bug: still one line, the traceback with STYLEGEN_DEBUG=1
            _fail(f"unexpected {type(e).__name__}: {e} (STYLEGEN_DEBUG=1 shows the traceback)", 1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=StylegenGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stylegen")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Learn the style of a body of text, then write in that style.

    \b
    `stylegen` alone in a terminal (or `stylegen tui`) opens the app: chat,
    generate, build a corpus, train, inspect. The shipped style `shakespeare`
    works at once:
      stylegen chat shakespeare --as ROMEO
      stylegen generate shakespeare --prime "JULIET:" --length 300

    \b
    A five-minute start with your own texts:
      stylegen corpus build mytexts ./my-texts/
      stylegen train mytexts --name mine --max-minutes 5
      stylegen generate mine --length 300
    """
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():  # a person at a terminal: the app
            from stylegen.tui import run

            run()
        else:  # a pipe, a script, CI: the help, as before
            click.echo(ctx.get_help())


def main() -> None:
    """Console-script entry point."""
    cli()


from stylegen.cli import chat as _chat  # noqa: E402
from stylegen.cli import corpus as _corpus  # noqa: E402
from stylegen.cli import evaluate as _evaluate  # noqa: E402
from stylegen.cli import generate as _generate  # noqa: E402
from stylegen.cli import inspect as _inspect  # noqa: E402
from stylegen.cli import plugin_new as _plugin_new  # noqa: E402
from stylegen.cli import plugins as _plugins  # noqa: E402
from stylegen.cli import styles as _styles  # noqa: E402
from stylegen.cli import train as _train  # noqa: E402
from stylegen.cli import tui as _tui  # noqa: E402
from stylegen.cli._options import check_numbers  # noqa: E402

for _module in (_corpus, _train, _evaluate, _generate, _chat, _styles, _plugins, _plugin_new, _tui, _inspect):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
check_numbers(cli)  # every float option finite, every --seed one torch accepts
