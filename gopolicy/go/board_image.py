"""A picture of a Go board as an RGB array, drawn with numpy alone (no imaging library).

Wooden background, grid lines, star points, black and white stones and a red dot on
the last move. Row 0 (the bottom row, as everywhere in gopolicy) is drawn at the bottom.
"""
from __future__ import annotations

import numpy as np

from gopolicy.go.coords import BLACK, WHITE, Move

WOOD = (220, 179, 92)
LINE = (40, 30, 20)
BLACK_STONE = (20, 20, 20)
WHITE_STONE = (240, 240, 240)
WHITE_EDGE = (90, 90, 90)
LAST_MOVE = (220, 30, 30)


def star_points(size: int) -> list[tuple[int, int]]:
    """The usual hoshi: 4-4 (3-3 below 13x13) corners and the centre, plus the sides from 15x15."""
    if size < 7:
        return []
    edge = 3 if size >= 13 else 2
    lines = [edge, size - 1 - edge]
    if size % 2:
        lines.insert(1, size // 2)
    points = [(r, c) for r in lines for c in lines]
    if size % 2 and size < 15:  # corners and centre only
        points = [(r, c) for r, c in points if (r == c == size // 2) or (r != size // 2 and c != size // 2)]
    return points


def board_image(stones: np.ndarray, last_move: Move = None, cell: int = 24) -> np.ndarray:
    """``stones`` (size, size) [row, col]: 0 empty, 1 black, 2 white (``Game.stones()``) ->
    uint8 array (H, W, 3), H = W = cell * (size + 1); a red dot marks ``last_move``."""
    size = stones.shape[0]
    side = cell * (size + 1)
    image = np.empty((side, side, 3), np.uint8)
    image[:] = WOOD

    def centre(point: tuple[int, int]) -> tuple[int, int]:  # (row, col) -> pixel (y, x)
        row, col = point
        return cell + (size - 1 - row) * cell, cell + col * cell

    first, last = cell, cell + (size - 1) * cell
    for i in range(size):
        image[first + i * cell, first:last + 1] = LINE
        image[first:last + 1, first + i * cell] = LINE

    def disc(point: tuple[int, int], radius: float, colour: tuple[int, int, int]) -> None:
        y, x = centre(point)
        r = int(np.ceil(radius))
        ys, xs = np.ogrid[-r:r + 1, -r:r + 1]
        inside = ys * ys + xs * xs <= radius * radius
        image[y - r:y + r + 1, x - r:x + r + 1][inside] = colour

    for point in star_points(size):
        disc(point, max(1.5, cell * 0.1), LINE)
    for row, col in zip(*np.nonzero(stones)):
        if stones[row, col] == BLACK:
            disc((row, col), cell * 0.47, BLACK_STONE)
        elif stones[row, col] == WHITE:
            disc((row, col), cell * 0.47, WHITE_EDGE)
            disc((row, col), cell * 0.47 - 1.5, WHITE_STONE)
    if last_move is not None:
        disc(divmod(last_move, size), cell * 0.16, LAST_MOVE)
    return image
