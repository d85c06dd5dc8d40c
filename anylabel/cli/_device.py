"""``--device`` of every command that runs a model (segment, everything, track, autolabel): one option, one rule.

The device that applies is ``--device``, else ``$ANYLABEL_DEVICE``, else the settings file's ``device``, else
``auto`` (the first GPU, else the CPU); see :mod:`anylabel.devices`. A misspelt name is an argparse error; a
device the machine lacks is a :class:`~anylabel.devices.DeviceError`: both exit with status 2, no traceback.
"""
from __future__ import annotations

import argparse

from anylabel.devices import DeviceError, check_device_name, requested_device


def device_name(text: str) -> str:
    """argparse ``type`` of ``--device``: the spelling only (the hardware is checked when a model loads)."""
    try:
        return check_device_name(text)
    except DeviceError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def add_device_argument(parser: argparse.ArgumentParser, what: str = "the model") -> None:
    parser.add_argument("--device", type=device_name, default=None, metavar="DEVICE",
                        help=f"where {what} runs: auto (the first GPU, else the CPU), cpu, cuda, cuda:N or mps "
                        "(default: $ANYLABEL_DEVICE, else the settings file's device, else auto)")


def cli_device(args: argparse.Namespace) -> str:
    """The device name that applies to this command (not resolved: the loaders check it against the hardware
    before any download)."""
    if getattr(args, "device", None):
        return args.device
    from anylabel.config import load_config

    return requested_device(None, setting=load_config().device)
