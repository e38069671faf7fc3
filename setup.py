"""Builds the compiled rules/feature core; everything else lives in pyproject.toml."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gopolicy._board",
            sources=["gopolicy/csrc/batch.c", "gopolicy/csrc/board.c", "gopolicy/csrc/features.c", "gopolicy/csrc/module.c",
                     "gopolicy/csrc/playout.c"],
            depends=["gopolicy/csrc/batch.h", "gopolicy/csrc/board.h", "gopolicy/csrc/playout.h"],
            extra_compile_args=["-O3", "-std=c99", "-Wall", "-Wno-unused-function"],
        )
    ]
)
