#!/usr/bin/env bash
# Installs everything gopolicy needs on a fresh Debian/Ubuntu machine:
# PyTorch first (the CPU build on CPU-only machines, so nothing pulls the multi-GB CUDA build),
# GNU Go (opponent and rules referee in the tests), then the project itself with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if ! [ -x /usr/games/gnugo ]; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq gnugo >/dev/null
fi

python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e '.[test,plot]'
echo "gopolicy installed: $(command -v gopolicy)"
