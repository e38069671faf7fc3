/* The Go board: stones, strings with exact liberty counts kept incrementally,
 * captures, simple ko, Zobrist hashing, Tromp-Taylor scoring.
 *
 * Points are indices into a padded (size+2) x (size+2) grid whose outer ring
 * is BORDER, so neighbours never need bounds checks. The Python layer speaks
 * flat indices row * size + col (row 0 at the bottom); see to_padded().
 *
 * A board is plain data: copying it with memcpy (or struct assignment) gives
 * an independent board, which is how the ladder reader and callers branch.
 */
#ifndef GOPOLICY_BOARD_H
#define GOPOLICY_BOARD_H

#include <stdint.h>
#include <string.h>

#define MAX_SIZE 25
#define MAX_STRIDE (MAX_SIZE + 2)
#define MAX_POINTS (MAX_STRIDE * MAX_STRIDE)
#define NO_POINT 0 /* a BORDER point: never a legal move, used as "none" */

enum { EMPTY = 0, BLACK = 1, WHITE = 2, BORDER = 3 };

/* play()/check_move() results below zero */
enum { MOVE_OK = 0, ILLEGAL_OCCUPIED = -1, ILLEGAL_KO = -2, ILLEGAL_SUICIDE = -3, ILLEGAL_OFF_BOARD = -4 };

typedef struct {
    int size, stride;
    int ko_point;         /* simple-ko point, or NO_POINT */
    int ko_colour;        /* the colour that may not play at ko_point next */
    int move_count;       /* moves played so far, passes included */
    int captures[3];      /* stones captured by BLACK / WHITE */
    uint64_t hash;        /* Zobrist hash of the stones alone */
    uint8_t colour[MAX_POINTS];
    int16_t head[MAX_POINTS];   /* for a stone: its string's representative point */
    int16_t next[MAX_POINTS];   /* for a stone: next stone of its string (circular) */
    int16_t libs[MAX_POINTS];   /* at a head: the string's liberty count */
    int16_t count[MAX_POINTS];  /* at a head: the string's stone count */
    int32_t placed[MAX_POINTS]; /* move number that placed the stone; -1 for setup stones */
} Board;

extern uint64_t zobrist[3][MAX_POINTS];

void zobrist_init(void);
void board_init(Board *b, int size);

static inline int opponent_of(int c) { return BLACK + WHITE - c; }
static inline int to_padded(const Board *b, int flat) { return (flat / b->size + 1) * b->stride + flat % b->size + 1; }
static inline int to_flat(const Board *b, int p) { return (p / b->stride - 1) * b->size + p % b->stride - 1; }

static inline int neighbour(const Board *b, int p, int k)
{
    return k == 0 ? p - 1 : k == 1 ? p + 1 : k == 2 ? p - b->stride : p + b->stride;
}

/* The four neighbours q of p (left, right, below, above). */
#define FOR_NEIGHBOURS(b, p, q) for (int _k = 0, q; _k < 4 && ((q = neighbour((b), (p), _k)), 1); ++_k)

/* The stones of the string containing p. */
#define FOR_STONES(b, p, s) for (int s = (p), _first = 1; _first || s != (p); _first = 0, s = (b)->next[s])

/* Legality of `colour` playing p (a padded point), without playing it. */
int check_move(const Board *b, int colour, int p, int allow_suicide);
/* Plays p (a padded point) for colour: returns the number of opponent stones
 * captured (>= 0), or an ILLEGAL_* code with the board unchanged. An allowed
 * suicide removes the player's own string (counted in the opponent's captures). */
int play(Board *b, int colour, int p, int allow_suicide);
void play_pass(Board *b);
/* Puts or removes setup stones (no captures, no history), then rebuilds strings. */
void set_stone(Board *b, int p, int colour);
void rebuild_strings(Board *b);
/* Hash of the stones after colour plays p (legal move assumed). */
uint64_t hash_after(const Board *b, int colour, int p);
/* The liberty count of the string at p; the first `max` of them are written to out. */
int string_liberties(const Board *b, int p, int *out, int max);
/* Tromp-Taylor area: black points minus white points (komi not included). */
int area_score(const Board *b, int8_t *owner_out);
/* Whether p is colour's true eye (the features' sensibleness convention). */
int is_true_eye(const Board *b, int colour, int p);

/* Feature planes (features.c). out: nplanes x size x size bytes, zero-filled by the caller. */
void compute_planes(const Board *b, int player, int nplanes, uint8_t *out);
/* Ladder queries (features.c): p is a padded point. */
int ladder_capture_move(const Board *b, int player, int p);
int ladder_escape_move(const Board *b, int player, int p);

#endif
