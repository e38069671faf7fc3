#ifndef GOPOLICY_PLAYOUT_H
#define GOPOLICY_PLAYOUT_H

#include "board.h"

/* Plays `playouts` random games from `start` (colour to move) and adds up, for every flat
 * point, +1 where Black owns it at the end and -1 where White does (owner_sum: size*size),
 * and, unless neutral_sum is NULL, 1 where neither does (a seki's shared liberties). */
void playout_ownership(const Board *start, int colour, int playouts, uint64_t seed, int max_moves,
                       int allow_suicide, int32_t *owner_sum, int32_t *neutral_sum);

#endif
