"""What every command shares: the Typer app, the option types, and the wrapper that turns a command's
result into output and an exit code (user errors one line, never a traceback)."""

from __future__ import annotations

import functools
from enum import Enum
from typing import Any, Callable, List, Optional, TypeVar

import typer

from signtrain import __version__
from signtrain.choices import CV_FINALS, EXPORT_FORMATS, EXTRACT_LAYOUTS, QUANTIZE, SPLITS
from signtrain.config import RECIPES
from signtrain.errors import SigntrainError
from signtrain.registry import EXPORT_FORMATS as EXPORT_FORMATS_TABLE

app = typer.Typer(
    name="signtrain",
    help="Sign-language landmark recordings -> validated dataset -> trained classifier -> report -> deployable model.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


config_app = typer.Typer(help="The config: show it resolved, list every key, or start one from a built-in recipe.",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")


T = TypeVar("T")


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of a fixed value set that lives in the library, so the parser lists and checks it."""
    return Enum(name, {v: v for v in values}, type=str)


Split = _choices("Split", SPLITS)


Format = _choices("Format", (*EXPORT_FORMATS, "all"))


Quantize = _choices("Quantize", QUANTIZE)


Recipe = _choices("Recipe", RECIPES)


ExtractLayout = _choices("ExtractLayout", EXTRACT_LAYOUTS)


Final = _choices("Final", CV_FINALS)


QUANTIZE_FORMATS = ", ".join(f.name for f in EXPORT_FORMATS_TABLE.values() if len(f.thresholds) > 1)


def examples(*lines: str) -> str:
    """A help epilog of example command lines (each one is parsed by tests/test_cli.py)."""
    return "[bold]Examples[/bold]\n\n" + "\n\n".join(f"  {line}" for line in lines)


def Flag(help: str, *names: str) -> bool:  # noqa: N802 - reads like typer.Option
    return typer.Option(False, *names, help=help, metavar="")


ConfigOpt = typer.Option(None, "--config", "-c", metavar="FILE|RECIPE",
                         help="YAML config, or a built-in recipe: default (adaptive: its training length set by "
                              "the data), base (the original recipe), best, optimized.")


SetOpt = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                      help="Change one config key, e.g. --set train.epochs=5 (repeatable; signtrain config keys lists "
                           "them).")


DataOpt = typer.Option(None, "--data", "-d", metavar="PATH", help="Data folder; shortcut for --set data.path=PATH.")


OutputOpt = typer.Option(None, "--output", "-o", metavar="DIR", help="Output folder; shortcut for --set output.dir=DIR.")


ModelAssetOpt = typer.Option(None, "--model-asset", metavar="PATH", help="MediaPipe holistic_landmarker.task "
                             "(default: Google's official bundle, downloaded once into the cache).")


NoCacheOpt = Flag("Read the tree afresh and write no cache (data.cache: false).", "--no-cache")


JsonOpt = Flag("Print the result as JSON on stdout.", "--json")


def guard(work: Callable[[], T], command: str = "signtrain") -> T:
    """Run a command body: user errors become one line on stderr and an exit code, never a traceback;
    anything unexpected becomes one line plus a crash log holding the traceback (exit 1)."""
    from signtrain import ui
    from signtrain.errors import Interrupted

    try:
        return work()
    except Interrupted as exc:
        ui.print_note(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except SigntrainError as exc:
        ui.print_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ui.print_note("aborted by Ctrl-C; whatever was being written stays invisible and what was there before is "
                      "intact" + (" (an unfinished training continues with signtrain train --resume)"
                                  if command == "train" else ""))
        raise typer.Exit(130) from None
    except (typer.Exit, SystemExit):
        raise
    except OSError as exc:  # the machine said no (a full disk, a read-only or vanished place): not a bug
        from signtrain.store.publish import target_of

        where = target_of(exc.filename) if exc.filename else "a file"
        ui.print_error(f"cannot use {where} ({exc.strerror or exc}); check that the place exists, has space and "
                       f"can be written, or choose another")
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001 - the last-resort guard
        from signtrain.crash import one_line, write_crash_log

        ui.print_error(one_line(exc, command, write_crash_log(exc, command)))
        raise typer.Exit(1) from None


def command(name: str) -> Callable[[Callable[..., int]], Callable[..., None]]:
    """Decorates a command body that returns its exit code: it runs under the guard, and the command exits
    with that code.  (functools.wraps keeps the signature, which Typer reads for the options.)"""
    def wrap(body: Callable[..., int]) -> Callable[..., None]:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> None:
            raise typer.Exit(guard(lambda: body(*args, **kwargs), name))

        return run

    return wrap


def show(as_json: bool, result: Any, render: Callable[[], None]) -> None:
    """The --json-or-render tail of a command: the result as JSON on stdout (its to_dict() where it has one,
    a list of such), or rendered for a person."""
    from signtrain import ui

    if not as_json:
        render()
    elif isinstance(result, list):
        ui.print_json([r.to_dict() if hasattr(r, "to_dict") else r for r in result])
    else:
        ui.print_json(result.to_dict() if hasattr(result, "to_dict") else result)


def with_cache(overrides: Optional[List[str]], no_cache: bool) -> list[str]:
    """--no-cache is the last override, so it wins over a data.cache in --set."""
    return [*(overrides or []), *(["data.cache=false"] if no_cache else [])]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"signtrain {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, metavar="",
                                       help="Show the version and exit.")) -> None:
    """signtrain: validate-data, train, evaluate, export, predict."""
