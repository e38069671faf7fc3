"""Hand-built finished 9x9 positions for the end-of-game tests (diagrams for the ``position`` fixture)."""

# 9x9 diagrams, top row first. Unless said otherwise Black owns A-D, White F-J, the E column is dame.
DEAD_GROUP = """
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. O O X . O . . .
. O . X . O X . .
. . . X . O . . .
"""  # white B3 C3 B2 inside Black's area, black G2 inside White's: all dead

FALSE_EYE = """
. O X X . O . . .
O O X X . O . . .
O O X X . O . . .
. O X X . O . . .
O X . X . O . . .
O X . X . O . . .
. X . X . O . . .
. . . X . O . . .
. . . X . O . . .
"""  # White's A9 is a true eye, A6 a false one (B5 is Black's): no string in atari, but all dead

SEKI = """
. . X O . X O . .
. . X O . X O . .
. . X O . X O . .
. . X O . X O . .
. . X O . X O . .
. . X O . X O . .
. . X O . X O . .
. . X O . X O . .
. . X O . X O . .
"""  # Black's C wall and White's G wall live; White's D column and Black's F column share the E liberties

NAKADE = """
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
X X X X . O . . .
O O O X X O . . .
X X O O X O . . .
. X . O X O . . .
"""  # White's corner group around Black's A2 B2 B1 has one eye's room: dead (no seki)

IN_ATARI = """
. . X . . O . . .
. . X . . O . . .
. . X . O O . . .
. . X . X O . . .
. . X O X O . . .
. . X O O O . . .
. . X O O O . . .
. . X . . O . . .
. . X . . O . . .
"""  # Black to move: its E6 E5 are in atari, and D6 joins them to the C wall
