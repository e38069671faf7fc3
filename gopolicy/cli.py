"""The ``gopolicy`` command: parses arguments and hands over to one subcommand's module.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> exit status``; add one by adding a line to ``COMMANDS``. Only the
chosen subcommand's module is imported, so ``gopolicy --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import NamedTuple, Optional, Sequence

from gopolicy.errors import GopolicyError

from . import __version__


class Subcommand(NamedTuple):
    module: str  # provides add_arguments(parser) and run(args) -> int
    help: str


COMMANDS: dict[str, Subcommand] = {
    "demo": Subcommand("gopolicy.demo", "the whole pipeline on the bundled sample games: prepare, train, eval, play"),
    "stats": Subcommand("gopolicy.stats", "count games, moves, skipped games, sizes, handicaps, ranks, years and komi in SGF archives"),
    "prepare": Subcommand("gopolicy.dataset.prepare", "turn SGF archives into a sharded training dataset of feature planes"),
    "eval": Subcommand("gopolicy.training.evaluate",
                       "move-prediction accuracy of a policy model, or a value model's error on outcomes, on held-out games"),
    "train": Subcommand("gopolicy.training.train",
                        "train the policy or (--target value) the value network on a prepared dataset (CPU, GPU, torchrun)"),
    "gtp": Subcommand("gopolicy.gtp.engine",
                      "play Go over GTP: the policy network, searching with a value network (Sabaki, GoGui, KGS, matches)"),
    "rl": Subcommand("gopolicy.rl.reinforce", "improve a policy network by REINFORCE self-play against a pool of its earlier snapshots"),
    "duel": Subcommand("gopolicy.rl.duel", "win rate of one policy network against another, with a 95% confidence interval"),
}


def build_parser(chosen: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser; only the ``chosen`` subcommand's arguments are loaded."""
    parser = argparse.ArgumentParser(prog="gopolicy", description="Go policy networks: game records, training, evaluation, GTP.")
    parser.add_argument("--version", action="version", version=f"gopolicy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help.replace("%", "%%"), description=command.help)  # help is %-formatted
        if name == chosen:
            importlib.import_module(command.module).add_arguments(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs ``gopolicy ARGS``; returns the exit status. Bad input gives a message, not a traceback."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    args = build_parser(chosen).parse_args(args_list)
    try:
        return importlib.import_module(COMMANDS[args.command].module).run(args)
    except GopolicyError as error:
        print(f"gopolicy {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gopolicy {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
