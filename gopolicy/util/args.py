"""Command-line values, validated where they enter: one set of argument types and options for
every subcommand, so an option means the same thing under the same name everywhere.

A bad value is refused by argparse at once: a one-line ``error: argument --x: ...`` and exit
status 2, before anything is read, built or written.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import torch

PRECISIONS = ("auto", "bf16", "fp32")  # resolved by gopolicy.nn.hardware.use_bf16


def _number(convert: Callable[[str], float], test: Callable[[float], bool], what: str) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if (isinstance(value, float) and not math.isfinite(value)) or not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


positive_int = _number(int, lambda v: v > 0, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
finite_float = _number(float, lambda v: True, "a finite number")
positive_float = _number(float, lambda v: v > 0, "a positive number")
non_negative_float = _number(float, lambda v: v >= 0, "a non-negative number")
fraction = _number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
probability = _number(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")


def existing_path(text: str) -> Path:
    """An input that exists (a file or a folder)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def existing_file(text: str) -> Path:
    path = existing_path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: not a regular file")
    return path


def output_dir(text: str) -> Path:
    """A folder to write into: created if absent; refused if it names a file or cannot be written."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise argparse.ArgumentTypeError(f"{text}: cannot write there ({e.strerror or e})") from None
    return path


def output_file(text: str) -> Path:
    """A file to (over)write: its folder must exist and be writable; it must not be a folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text}: cannot write there")
    return path


def device(text: str) -> str:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``; a CUDA device
    that this machine does not have is refused here (torch is imported only to check that)."""
    if text in ("auto", "cpu"):
        return text
    if text == "cuda" or text.startswith("cuda:") and text[5:].isdigit():
        import torch

        index = int(text[5:]) if ":" in text else 0
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{text}: this machine has no CUDA device")
        if index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"{text}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not auto, cpu, cuda or cuda:N")


def resolve_device(name: str) -> "torch.device":
    """The torch device for a validated ``--device`` value."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


# --- options shared by the subcommands: the same name, meaning and default everywhere ---

def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=device, default="auto",
                        help="where the network runs: auto (CUDA when present, else CPU), cpu, cuda or cuda:N")


def add_precision(parser: argparse.ArgumentParser, fp32_alias: bool = False) -> None:
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="bf16 or fp32 arithmetic; auto = bf16 where the CPU or GPU computes it natively")
    if fp32_alias:
        parser.add_argument("--fp32", dest="precision", action="store_const", const="fp32",
                            help="the same as --precision fp32")


def add_batch_size(parser: argparse.ArgumentParser, default: int, what: str = "positions per network pass") -> None:
    parser.add_argument("--batch-size", type=positive_int, default=default, help=f"{what} (default {default})")


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar (without a terminal, the bar prints a line every 30 s)")


def add_json(parser: argparse.ArgumentParser, what: str = "the results") -> None:
    parser.add_argument("--json", type=output_file, metavar="FILE", help=f"also write {what} to FILE as JSON")


def add_ckpt_every(parser: argparse.ArgumentParser, default: int, unit: str = "steps") -> None:
    parser.add_argument("--ckpt-every", type=positive_int, default=default,
                        help=f"write the resumable checkpoint every N {unit} (default {default})")
