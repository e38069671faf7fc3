"""Teaches a small CNN built from gopolicy.nn's generic layers to tell X from O, to show
the layers serve any image task, not just Go boards.

Images are 28x28 strokes of random size, position, slant and thickness, with noise.
Runs on one CPU thread in well under a minute:

    python scripts/xo_images.py [--epochs 8] [--train 4000] [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gopolicy.nn.layers import Conv2d, Dense, Flatten, MaxPool2d, ReLU, Sequential  # noqa: E402

SIZE = 28
CLASSES = ("X", "O")


def draw(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` noisy images (count, 1, 28, 28) and their labels (0 = X, 1 = O)."""
    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, 1, 1, generator=generator)

    labels = torch.randint(0, 2, (count,), generator=generator)
    radius, thickness = uniform(5, 11), uniform(1.0, 2.2)
    cx, cy = uniform(-1, 1) * (SIZE / 2 - radius - 2) + SIZE / 2, uniform(-1, 1) * (SIZE / 2 - radius - 2) + SIZE / 2
    angle = uniform(-0.3, 0.3) + math.pi / 4
    ys, xs = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32),
                            indexing="ij")
    dx, dy = xs - cx, ys - cy
    ring = (dx.hypot(dy) - radius).abs()
    cross = torch.stack([_segment_distance(dx, dy, angle + turn, radius) for turn in (0, math.pi / 2)]).amin(0)
    distance = torch.where(labels.view(-1, 1, 1) == 1, ring, cross)
    ink = (1 - distance / thickness).clamp(0, 1)
    noisy = ink + 0.25 * torch.randn(ink.shape, generator=generator)
    return noisy.unsqueeze(1), labels


def _segment_distance(dx: torch.Tensor, dy: torch.Tensor, angle: torch.Tensor,
                      half_length: torch.Tensor) -> torch.Tensor:
    """Distance from each pixel (offset dx, dy from the centre) to a centred segment at ``angle``."""
    along = (dx * angle.cos() + dy * angle.sin()).clamp(-half_length, half_length)
    return (dx - along * angle.cos()).hypot(dy - along * angle.sin())


def xo_network() -> Sequential:
    return Sequential((1, SIZE, SIZE),
                      Conv2d(1, 8, 3, padding="same"), ReLU(), MaxPool2d(2),
                      Conv2d(8, 16, 3, padding="same"), ReLU(), MaxPool2d(2),
                      Flatten(), Dense(16 * 7 * 7, 32), ReLU(), Dense(32, len(CLASSES)))


def accuracy(net: Sequential, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return (net(images).argmax(1) == labels).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--train", type=int, default=4000, help="training images")
    parser.add_argument("--test", type=int, default=1000, help="test images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_x, train_y = draw(args.train, generator)
    test_x, test_y = draw(args.test, generator)

    net = xo_network()
    print(net.summary(), end="\n\n")
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for batch in torch.randperm(args.train).split(64):
            loss = torch.nn.functional.cross_entropy(net(train_x[batch]), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: last batch loss {loss.item():.4f}, test accuracy {accuracy(net, test_x, test_y):.2%} "
              f"({time.perf_counter() - start:.1f} s)")
    print(f"test accuracy: {accuracy(net, test_x, test_y):.2%} on {args.test} images")


if __name__ == "__main__":
    main()
