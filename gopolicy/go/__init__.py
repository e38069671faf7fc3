"""The rules of Go: one coordinate vocabulary (coords), the board and game (rules), the board's 8 symmetries
(symmetry) and board pictures (board_image). Imports nothing else of gopolicy but errors and the compiled core."""
