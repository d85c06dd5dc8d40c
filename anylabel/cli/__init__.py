"""The ``anylabel`` command line.

``anylabel [PATH]`` opens the GUI; ``anylabel SUBCOMMAND ...`` runs a headless task. Each subcommand is
one module in this package that defines:

* ``COMMAND``: its name on the command line;
* ``HELP``: one line for ``anylabel --help``;
* ``add_arguments(parser)``: its options;
* ``run(args) -> int``: the exit code.

Modules are discovered, so a new subcommand is a new file and nothing else. Heavy imports (torch, Qt)
happen inside ``run`` so that ``anylabel --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from types import ModuleType
from typing import Dict, List, Optional

from anylabel import __version__
from anylabel.errors import AnylabelError, AnylabelWarning


def subcommands() -> Dict[str, ModuleType]:
    """Every subcommand module of this package, by command name."""
    found: Dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        name = getattr(module, "COMMAND", None)
        if name:
            found[name] = module
    return dict(sorted(found.items()))


def gui_parser() -> argparse.ArgumentParser:
    """The options of ``anylabel [PATH] [--output DIR]`` (the GUI)."""
    gui = argparse.ArgumentParser(prog="anylabel", description="Open the anylabel GUI.")
    gui.add_argument("--gui", action="store_true", help=argparse.SUPPRESS)
    gui.add_argument("path", nargs="?", metavar="PATH",
                     help="an image, a folder of images, a LabelMe JSON or a video")
    gui.add_argument("--output", "-o", metavar="DIR",
                     help="folder for saved LabelMe JSON (default: next to the images)")
    return gui


#: GUI options that take a value (the token after them is not PATH or a subcommand)
_GUI_VALUE_OPTIONS = ("--output", "-o")


def _wants_gui(argv: List[str], commands: Dict[str, ModuleType]) -> bool:
    """True unless the first positional word is a subcommand (or the top-level --help / --version is
    asked for): GUI options may come before or after PATH."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-h", "--help", "--version"):
            return False
        if word in _GUI_VALUE_OPTIONS:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word not in commands
    return True


def build_parser(commands: Dict[str, ModuleType]) -> argparse.ArgumentParser:
    gui_help = gui_parser().format_help().replace("usage: ", "", 1)
    parser = argparse.ArgumentParser(
        prog="anylabel",
        usage="anylabel [PATH] [--output DIR]      (the GUI)\n       anylabel SUBCOMMAND [options]     "
        "(headless; anylabel SUBCOMMAND --help)",
        description="Annotate images and videos with SAM, SAM2 and FastSAM. "
        "Without a subcommand, opens the GUI (on PATH if given).",
        epilog="the GUI:\n" + "\n".join(f"  {line}" if line else "" for line in gui_help.strip().splitlines()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"anylabel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", title="subcommands")
    for name, module in commands.items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``anylabel`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = subcommands()
    parser = build_parser(commands)
    if _wants_gui(argv, commands):
        return _run_gui(argv)
    args = parser.parse_args(argv)
    if args.command is None:  # only options such as --version, handled by argparse
        return _run_gui([])
    _printable_stdout()
    try:
        with warnings.catch_warnings():
            _show_our_warnings(args.command)
            code = int(commands[args.command].run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return code
    except AnylabelError as e:
        print(f"anylabel {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"anylabel {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _broken_pipe()


#: the exit status of a Unix tool killed by SIGPIPE (128 + 13), e.g. ``yes | head -1`` under ``pipefail``
EXIT_BROKEN_PIPE = 141


def _show_our_warnings(command: str) -> None:
    """Our warnings (:class:`AnylabelWarning`, naming the file) print as one line in the CLI's words; other
    libraries' warnings keep Python's format."""
    python_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 - warnings' signature
        if issubclass(category, AnylabelWarning):
            print(f"anylabel {command}: warning: {message}", file=sys.stderr)
        else:
            python_show(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def _printable_stdout() -> None:
    """File names that are not UTF-8 (``caf\\xe9.jpg`` on Linux: surrogate escapes in Python) print as their
    own bytes, the way ``ls`` prints them, instead of raising UnicodeEncodeError (stderr already escapes)."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and (sys.stdout.encoding or "").lower().replace("-", "") == "utf8":
        reconfigure(errors="surrogateescape")


def _broken_pipe() -> int:
    """The reader of our output went away (``anylabel models list | head -1``): stop quietly, as Unix tools
    do. stdout is pointed at /dev/null so that the interpreter's final flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (tests capture it): nothing to flush
        pass
    return EXIT_BROKEN_PIPE


def _run_gui(argv: List[str]) -> int:
    args = gui_parser().parse_args(argv)
    from anylabel.gui.app import run_gui  # Qt is imported only here

    return run_gui(args.path, output_dir=args.output)
