/* Random playouts to the end of the game, for Monte-Carlo ownership (who ends up owning each
 * point): the classic estimate of life and death at the end of a game.
 *
 * A playout plays, for each side in turn, the first kind of move it has of:
 *   1. a save: a string of its own in atari captures a neighbour in atari, or extends at its
 *      liberty to two or more liberties, three for a lone stone (a player does not hand over
 *      a living group, nor run out with a stone the opponent takes next move);
 *   2. a capture of any string in atari;
 *   3. a uniformly random legal move that neither fills one of its own true eyes (the
 *      features' sensibleness rule) nor puts two or more of its own stones in atari;
 * and passes when it has none; two passes in a row end it, or max_moves moves. The final
 * position is scored by Tromp-Taylor area, every point owned by the colour of its stone or of
 * the stones alone around its empty region; a region reaching both colours is neutral (at the
 * end of a playout: the shared liberties of a seki, which rule 3 leaves when two are left). */
#include "playout.h"

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The liberties of colour's string at p after colour plays p (a legal move), 0 if it vanished. */
static int liberties_after(const Board *b, int colour, int p, int allow_suicide)
{
    Board after = *b;
    play(&after, colour, p, allow_suicide);
    return after.colour[p] == colour ? after.libs[after.head[p]] : 0;
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

/* Adds to moves[] the moves that save colour's string at h (in atari): capturing a neighbour
 * string in atari, or extending at its liberty when that gives two or more liberties. */
static int saving_moves(const Board *b, int colour, int h, int allow_suicide, int *moves, int n)
{
    int other = opponent_of(colour), liberty;
    FOR_STONES(b, h, s) {
        FOR_NEIGHBOURS(b, s, q) {
            if (b->colour[q] == other && b->libs[b->head[q]] == 1 && n < MAX_POINTS) {
                string_liberties(b, q, &liberty, 1);
                if (check_move(b, colour, liberty, allow_suicide) == MOVE_OK) moves[n++] = liberty;
            }
        }
    }
    string_liberties(b, h, &liberty, 1);
    int enough = b->count[h] >= 2 ? 2 : 3; /* a lone stone is worth saving only well out of reach */
    if (n < MAX_POINTS && check_move(b, colour, liberty, allow_suicide) == MOVE_OK &&
        liberties_after(b, colour, liberty, allow_suicide) >= enough)
        moves[n++] = liberty;
    return n;
}

/* A random candidate move for colour (padded point), or NO_POINT: see the file's comment. */
static int random_move(const Board *b, int colour, int allow_suicide, uint64_t *rng, int *empties)
{
    int n = 0, taking = 0, saving = 0, takes[MAX_POINTS], saves[MAX_POINTS], other = opponent_of(colour);
    uint8_t seen[MAX_POINTS];
    memset(seen, 0, (size_t)(b->stride * b->stride));
    for (int r = 1; r <= b->size; ++r)
        for (int c = 1; c <= b->size; ++c) {
            int p = r * b->stride + c, capture = 0;
            if (b->colour[p] != EMPTY) continue;
            empties[n++] = p;
            FOR_NEIGHBOURS(b, p, q) {
                if (b->colour[q] == other && b->libs[b->head[q]] == 1) capture = 1;
                else if (b->colour[q] == colour && b->libs[b->head[q]] == 1 && !seen[b->head[q]]) {
                    seen[b->head[q]] = 1;
                    saving = saving_moves(b, colour, b->head[q], allow_suicide, saves, saving);
                }
            }
            if (capture) takes[taking++] = p;
        }
    if (saving > 0) return saves[next_random(rng) % (uint64_t)saving];
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
                       int allow_suicide, int32_t *owner_sum, int32_t *neutral_sum)
{
    int n = start->size * start->size, empties[MAX_POINTS];
    int8_t owner[MAX_POINTS];
    uint64_t rng = seed;
    memset(owner_sum, 0, sizeof(int32_t) * (size_t)n);
    if (neutral_sum) memset(neutral_sum, 0, sizeof(int32_t) * (size_t)n);
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
        if (neutral_sum)
            for (int f = 0; f < n; ++f) neutral_sum[f] += owner[f] == EMPTY;
    }
}
