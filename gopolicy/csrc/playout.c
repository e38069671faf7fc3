/* Random playouts to the end of the game, for Monte-Carlo ownership (who ends up owning each
 * point): the classic estimate of life and death at the end of a game.
 *
 * A playout plays, for each side in turn, a random capture when it has one, else a uniformly
 * random legal move that neither fills one of its own true eyes (the features' sensibleness
 * rule) nor puts two or more of its own stones in atari, and passes when it has none;
 * two passes in a row end it, or max_moves moves. The final position is scored by
 * Tromp-Taylor area, every point owned by the colour of its stone or of the stones alone
 * around its empty region. */
#include "playout.h"

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Whether colour's move at p (legal) leaves a string of two or more of its stones in atari:
 * random play that did this would kill its own living groups. */
static int self_atari(const Board *b, int colour, int p, int allow_suicide)
{
    int own_neighbours = 0, liberties = 0;
    FOR_NEIGHBOURS(b, p, q) {
        if (b->colour[q] == EMPTY) ++liberties;
        else if (b->colour[q] == colour) ++own_neighbours;
    }
    if (liberties >= 2 || own_neighbours == 0) return 0; /* cheap answers first */
    Board after = *b;
    play(&after, colour, p, allow_suicide);
    int head = after.head[p];
    return after.colour[p] == colour && after.libs[head] == 1 && after.count[head] >= 2;
}

/* Whether colour's move at the empty point p captures: an opponent string next to it has one liberty. */
static int captures(const Board *b, int colour, int p)
{
    int other = opponent_of(colour);
    FOR_NEIGHBOURS(b, p, q) {
        if (b->colour[q] == other && b->libs[b->head[q]] == 1) return 1;
    }
    return 0;
}

/* A random candidate move for colour (padded point), or NO_POINT: a capture when there is one
 * (taking what is in atari keeps eyes and living groups as a player would), else uniform. */
static int random_move(const Board *b, int colour, int allow_suicide, uint64_t *rng, int *empties)
{
    int n = 0, taking = 0, takes[MAX_POINTS];
    for (int r = 1; r <= b->size; ++r)
        for (int c = 1; c <= b->size; ++c) {
            int p = r * b->stride + c;
            if (b->colour[p] != EMPTY) continue;
            empties[n++] = p;
            if (captures(b, colour, p)) takes[taking++] = p;
        }
    while (taking > 0) {
        int i = (int)(next_random(rng) % (uint64_t)taking), p = takes[i];
        if (check_move(b, colour, p, allow_suicide) == MOVE_OK) return p;
        takes[i] = takes[--taking];
    }
    while (n > 0) { /* draw without replacement until a candidate turns up */
        int i = (int)(next_random(rng) % (uint64_t)n), p = empties[i];
        if (!is_true_eye(b, colour, p) && check_move(b, colour, p, allow_suicide) == MOVE_OK &&
            !self_atari(b, colour, p, allow_suicide))
            return p;
        empties[i] = empties[--n];
    }
    return NO_POINT;
}

void playout_ownership(const Board *start, int colour, int playouts, uint64_t seed, int max_moves,
                       int allow_suicide, int32_t *owner_sum)
{
    int n = start->size * start->size, empties[MAX_POINTS];
    int8_t owner[MAX_POINTS];
    uint64_t rng = seed;
    memset(owner_sum, 0, sizeof(int32_t) * (size_t)n);
    for (int k = 0; k < playouts; ++k) {
        Board b = *start;
        int to_move = colour, passes = 0;
        for (int m = 0; m < max_moves && passes < 2; ++m) {
            int p = random_move(&b, to_move, allow_suicide, &rng, empties);
            if (p == NO_POINT) {
                play_pass(&b);
                ++passes;
            } else {
                play(&b, to_move, p, allow_suicide);
                passes = 0;
            }
            to_move = opponent_of(to_move);
        }
        area_score(&b, owner);
        for (int f = 0; f < n; ++f) owner_sum[f] += owner[f] == BLACK ? 1 : owner[f] == WHITE ? -1 : 0;
    }
}
