/* AlphaGo's 48 feature planes (Extended Data Table 2) and the ladder reader.
 *
 * The conventions (which points count, ages, ladders, eyes) are those of
 * shared/docs/alphago-features.md and are documented in gopolicy/features.py.
 * Everything is relative to `player`, the colour to move. Legality here is
 * simple ko + no suicide, never superko, whatever the game's own rules.
 */
#include <stdlib.h>

#include "board.h"

#define LADDER_MAX_PLY 100
/* Positions one ladder query may visit. Real ladders need a few hundred; the
 * budget only guarantees that a pathological position cannot stall feature
 * extraction. A query that runs out counts as "not captured", like one that
 * hits the depth bound. */
#define LADDER_BUDGET 20000

/* Boards for the reading, one per ply: arena[k] holds the position after ply k.
 * One per thread, allocated on first use. */
static __thread Board *arena;

static Board *ladder_arena(void)
{
    if (!arena) arena = malloc(sizeof(Board) * (LADDER_MAX_PLY + 3));
    return arena;
}

static int in_list(const int *list, int n, int x)
{
    for (int i = 0; i < n; ++i)
        if (list[i] == x) return 1;
    return 0;
}

/* The string at s is in atari, its owner (the prey) to move; `ply` moves have
 * been read so far and `b` is arena[ply]. Whether every escape fails. */
static int ladder_captured(const Board *b, int s, int ply, int *budget)
{
    if (--*budget < 0 || ply + 1 > LADDER_MAX_PLY) return 0;
    int prey = b->colour[s], hunter = opponent_of(prey);
    int escapes[MAX_POINTS / 2], nescapes = 0, heads[MAX_POINTS / 2], nheads = 0, lib;

    string_liberties(b, s, &escapes[nescapes++], 1);
    FOR_STONES(b, s, t) { /* capturing an adjacent hunter string in atari */
        FOR_NEIGHBOURS(b, t, q) {
            if (b->colour[q] != hunter || b->libs[b->head[q]] != 1 || in_list(heads, nheads, b->head[q])) continue;
            heads[nheads++] = b->head[q];
            string_liberties(b, q, &lib, 1);
            if (!in_list(escapes, nescapes, lib)) escapes[nescapes++] = lib;
        }
    }

    Board *after_escape = &arena[ply + 1], *after_hunt = &arena[ply + 2];
    for (int i = 0; i < nescapes; ++i) {
        if (check_move(b, prey, escapes[i], 0) < 0) continue;
        *after_escape = *b;
        play(after_escape, prey, escapes[i], 0);
        int libs = after_escape->libs[after_escape->head[s]];
        if (libs >= 3) return 0;
        if (libs <= 1) continue;
        int two[2], caught = 0;
        string_liberties(after_escape, s, two, 2);
        for (int j = 0; j < 2 && !caught && ply + 2 <= LADDER_MAX_PLY; ++j) {
            if (check_move(after_escape, hunter, two[j], 0) < 0) continue;
            *after_hunt = *after_escape;
            play(after_hunt, hunter, two[j], 0);
            caught = after_hunt->libs[after_hunt->head[s]] == 1 && ladder_captured(after_hunt, s, ply + 2, budget);
        }
        if (!caught) return 0;
    }
    return 1;
}

int ladder_capture_move(const Board *b, int player, int p)
{
    int other = opponent_of(player), targets[4], ntargets = 0, budget = LADDER_BUDGET;
    if (check_move(b, player, p, 0) < 0) return 0;
    FOR_NEIGHBOURS(b, p, q) {
        if (b->colour[q] == other && b->libs[b->head[q]] == 2 && !in_list(targets, ntargets, b->head[q]))
            targets[ntargets++] = b->head[q];
    }
    if (!ntargets) return 0;
    Board *after = &ladder_arena()[1];
    *after = *b;
    play(after, player, p, 0);
    for (int i = 0; i < ntargets; ++i) {
        int s = targets[i];
        if (after->libs[after->head[s]] == 1 && ladder_captured(after, s, 1, &budget)) return 1;
    }
    return 0;
}

int ladder_escape_move(const Board *b, int player, int p)
{
    int other = opponent_of(player), savable[MAX_POINTS / 2], nsavable = 0, budget = LADDER_BUDGET;
    if (check_move(b, player, p, 0) < 0) return 0;
    FOR_NEIGHBOURS(b, p, q) {
        if (b->colour[q] == player && b->libs[b->head[q]] == 1 && !in_list(savable, nsavable, b->head[q]))
            savable[nsavable++] = b->head[q]; /* p is its last liberty */
        if (b->colour[q] == other && b->libs[b->head[q]] == 1) {
            FOR_STONES(b, b->head[q], t) { /* p captures q's string: its neighbours in atari gain */
                FOR_NEIGHBOURS(b, t, r) {
                    if (b->colour[r] == player && b->libs[b->head[r]] == 1 && !in_list(savable, nsavable, b->head[r]))
                        savable[nsavable++] = b->head[r];
                }
            }
        }
    }
    if (!nsavable) return 0;
    Board *after = &ladder_arena()[1], *after_hunt = &arena[2];
    *after = *b;
    play(after, player, p, 0);
    for (int i = 0; i < nsavable; ++i) {
        int s = savable[i], libs = after->libs[after->head[s]];
        if (libs >= 3) return 1;
        if (libs != 2) continue;
        int two[2], caught = 0;
        string_liberties(after, s, two, 2);
        for (int j = 0; j < 2 && !caught; ++j) {
            if (check_move(after, other, two[j], 0) < 0) continue;
            *after_hunt = *after;
            play(after_hunt, other, two[j], 0);
            caught = after_hunt->libs[after_hunt->head[s]] == 1 && ladder_captured(after_hunt, s, 2, &budget);
        }
        if (!caught) return 1;
    }
    return 0;
}

/* What playing p would do, read off the board without playing it. */
typedef struct {
    int captured;   /* opponent stones removed */
    int libs;       /* liberties of the player's string holding p, after captures */
    int size;       /* stones in that string */
} Lookahead;

/* Captured stones (capmark) next to s not yet counted as liberties (libmark). */
static int freed_liberties(const Board *b, int s, uint32_t *libmark, const uint32_t *capmark, uint32_t gen)
{
    int n = 0;
    FOR_NEIGHBOURS(b, s, t) {
        if (capmark[t] == gen && libmark[t] != gen) {
            libmark[t] = gen;
            ++n;
        }
    }
    return n;
}

static Lookahead look_ahead(const Board *b, int player, int p, uint32_t *libmark, uint32_t *capmark, uint32_t gen)
{
    Lookahead r = {0, 0, 1};
    int other = opponent_of(player), own[4], nown = 0, seen[4], nseen = 0;
    FOR_NEIGHBOURS(b, p, q) {
        int c = b->colour[q];
        if (c == EMPTY && libmark[q] != gen) { /* an own string seen earlier may have counted it */
            libmark[q] = gen;
            ++r.libs;
        }
        if (c != BLACK && c != WHITE) continue;
        int g = b->head[q];
        if (in_list(seen, nseen, g)) continue;
        seen[nseen++] = g;
        if (c == player) {
            own[nown++] = g;
            r.size += b->count[g];
            FOR_STONES(b, g, s) {
                FOR_NEIGHBOURS(b, s, t) {
                    if (b->colour[t] == EMPTY && t != p && libmark[t] != gen) {
                        libmark[t] = gen;
                        ++r.libs;
                    }
                }
            }
        } else if (b->libs[g] == 1) {
            r.captured += b->count[g];
            FOR_STONES(b, g, s) capmark[s] = gen;
        }
    }
    if (r.captured) { /* captured stones touching the new string become its liberties */
        r.libs += freed_liberties(b, p, libmark, capmark, gen);
        for (int i = 0; i < nown; ++i) FOR_STONES(b, own[i], s) r.libs += freed_liberties(b, s, libmark, capmark, gen);
    }
    return r;
}

static inline int min_int(int a, int b) { return a < b ? a : b; }

/* Writes only the first nplanes planes, so any prefix (k <= 49) is safe, even
 * one that cuts a one-hot group in two; groups wholly past the prefix are
 * not computed at all. */
void compute_planes(const Board *b, int player, int nplanes, uint8_t *out)
{
    const int n = b->size * b->size;
    uint32_t libmark[MAX_POINTS], capmark[MAX_POINTS], gen = 0;
    memset(libmark, 0, sizeof libmark);
    memset(capmark, 0, sizeof capmark);
#define SET(k, value)                                                  \
    do {                                                               \
        if ((k) < nplanes) out[(size_t)(k) * n + f] = (uint8_t)(value); \
    } while (0)
    for (int f = 0; f < n; ++f) {
        int p = to_padded(b, f), c = b->colour[p];
        SET(c == player ? 0 : c == EMPTY ? 2 : 1, 1);
        SET(3, 1);
        SET(48, player == BLACK);
        if (c == EMPTY) {
            if (nplanes <= 20 || check_move(b, player, p, 0) < 0) continue;
            Lookahead r = look_ahead(b, player, p, libmark, capmark, ++gen);
            SET(20 + min_int(r.captured, 7), 1);
            if (r.libs == 1) SET(28 + min_int(r.size, 8) - 1, 1);
            SET(36 + min_int(r.libs, 8) - 1, 1);
            if (nplanes > 44) SET(44, ladder_capture_move(b, player, p));
            if (nplanes > 45) SET(45, ladder_escape_move(b, player, p));
            SET(46, !is_true_eye(b, player, p));
        } else if (nplanes > 4) {
            int age = b->placed[p] < 0 ? 7 : b->move_count - 1 - b->placed[p];
            SET(4 + min_int(age, 7), 1);
            SET(12 + min_int(b->libs[b->head[p]], 8) - 1, 1);
        }
    }
#undef SET
}
