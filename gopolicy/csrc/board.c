/* Go rules on a padded board: see board.h. */
#include "board.h"

uint64_t zobrist[3][MAX_POINTS];

void zobrist_init(void)
{
    uint64_t state = 0x9E3779B97F4A7C15ULL; /* splitmix64, fixed seed: hashes are stable across runs */
    for (int c = 0; c < 3; ++c)
        for (int p = 0; p < MAX_POINTS; ++p) {
            uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            zobrist[c][p] = z ^ (z >> 31);
        }
}

void board_init(Board *b, int size)
{
    memset(b, 0, sizeof *b);
    b->size = size;
    b->stride = size + 2;
    b->ko_point = NO_POINT;
    for (int p = 0; p < MAX_POINTS; ++p) {
        int row = p / b->stride, col = p % b->stride;
        int inside = p < b->stride * b->stride && row >= 1 && row <= size && col >= 1 && col <= size;
        b->colour[p] = inside ? EMPTY : BORDER;
        b->placed[p] = -1;
    }
}

int string_liberties(const Board *b, int p, int *out, int max)
{
    uint8_t seen[MAX_POINTS];
    memset(seen, 0, (size_t)(b->stride * b->stride));
    int n = 0;
    FOR_STONES(b, p, s) {
        FOR_NEIGHBOURS(b, s, q) {
            if (b->colour[q] == EMPTY && !seen[q]) {
                seen[q] = 1;
                if (n < max) out[n] = q;
                ++n;
            }
        }
    }
    return n;
}

/* Joins the strings headed by a and c; returns the surviving head. */
static int merge_strings(Board *b, int a, int c)
{
    if (b->count[a] < b->count[c]) {
        int t = a;
        a = c;
        c = t;
    }
    FOR_STONES(b, c, s) b->head[s] = (int16_t)a;
    int16_t t = b->next[a];
    b->next[a] = b->next[c];
    b->next[c] = t;
    b->count[a] += b->count[c];
    return a;
}

/* Removes the string at h from the board, giving its points back as
 * liberties to the neighbouring strings; returns the number of stones. */
static int remove_string(Board *b, int h)
{
    int colour = b->colour[h], n = 0;
    FOR_STONES(b, h, s) {
        b->colour[s] = EMPTY;
        b->placed[s] = -1;
        b->hash ^= zobrist[colour][s];
        ++n;
    }
    FOR_STONES(b, h, s) {
        int done[4], ndone = 0;
        FOR_NEIGHBOURS(b, s, q) {
            if (b->colour[q] != BLACK && b->colour[q] != WHITE) continue;
            int g = b->head[q], dup = 0;
            for (int i = 0; i < ndone; ++i) dup |= done[i] == g;
            if (!dup) {
                done[ndone++] = g;
                b->libs[g]++;
            }
        }
    }
    return n;
}

int check_move(const Board *b, int colour, int p, int allow_suicide)
{
    if (b->colour[p] == BORDER) return ILLEGAL_OFF_BOARD;
    if (b->colour[p] != EMPTY) return ILLEGAL_OCCUPIED;
    if (p == b->ko_point && colour == b->ko_colour) return ILLEGAL_KO;
    if (allow_suicide) return MOVE_OK;
    FOR_NEIGHBOURS(b, p, q) {
        int c = b->colour[q];
        if (c == EMPTY) return MOVE_OK;
        if (c == colour && b->libs[b->head[q]] > 1) return MOVE_OK;
        if (c == opponent_of(colour) && b->libs[b->head[q]] == 1) return MOVE_OK;
    }
    return ILLEGAL_SUICIDE;
}

int play(Board *b, int colour, int p, int allow_suicide)
{
    int status = check_move(b, colour, p, allow_suicide);
    if (status < 0) return status;
    int other = opponent_of(colour);

    b->colour[p] = (uint8_t)colour;
    b->head[p] = b->next[p] = (int16_t)p;
    b->count[p] = 1;
    b->placed[p] = b->move_count;
    b->hash ^= zobrist[colour][p];

    int libs = 0, merged = 0, dead[4], ndead = 0, touched[4], ntouched = 0;
    FOR_NEIGHBOURS(b, p, q) {
        int c = b->colour[q];
        if (c == EMPTY) {
            ++libs;
        } else if (c == other) {
            int g = b->head[q], dup = 0;
            for (int i = 0; i < ntouched; ++i) dup |= touched[i] == g;
            if (dup) continue;
            touched[ntouched++] = g;
            if (--b->libs[g] == 0) dead[ndead++] = g;
        }
    }
    b->libs[p] = (int16_t)libs;
    int h = p;
    FOR_NEIGHBOURS(b, p, q) {
        if (b->colour[q] == colour && b->head[q] != h) {
            h = merge_strings(b, h, b->head[q]);
            merged = 1;
        }
    }
    if (merged) b->libs[h] = (int16_t)string_liberties(b, h, NULL, 0); /* counted afresh after a merge */

    int captured = 0, ko = NO_POINT;
    for (int i = 0; i < ndead; ++i) {
        int n = remove_string(b, dead[i]);
        if (n == 1) ko = dead[i];
        captured += n;
    }
    b->captures[colour] += captured;
    h = b->head[p];
    if (captured == 1 && b->count[h] == 1 && b->libs[h] == 1) {
        b->ko_point = ko;
        b->ko_colour = other;
    } else {
        b->ko_point = NO_POINT;
    }
    if (b->libs[h] == 0) /* an allowed suicide */
        b->captures[other] += remove_string(b, h);
    b->move_count++;
    return captured;
}

void play_pass(Board *b)
{
    b->ko_point = NO_POINT;
    b->move_count++;
}

void set_stone(Board *b, int p, int colour)
{
    if (b->colour[p] == BLACK || b->colour[p] == WHITE) b->hash ^= zobrist[b->colour[p]][p];
    b->colour[p] = (uint8_t)colour;
    b->placed[p] = -1;
    if (colour != EMPTY) b->hash ^= zobrist[colour][p];
    b->ko_point = NO_POINT;
}

void rebuild_strings(Board *b)
{
    int n = b->stride * b->stride, stack[MAX_POINTS];
    for (int p = 0; p < n; ++p) b->head[p] = NO_POINT;
    for (int p = 0; p < n; ++p) {
        int c = b->colour[p];
        if ((c != BLACK && c != WHITE) || b->head[p] != NO_POINT) continue;
        int top = 0, last = p, count = 0;
        b->head[p] = (int16_t)p;
        stack[top++] = p;
        while (top) { /* flood fill, threading the stones into one circular list */
            int s = stack[--top];
            b->next[last] = (int16_t)s;
            last = s;
            ++count;
            FOR_NEIGHBOURS(b, s, q) {
                if (b->colour[q] == c && b->head[q] == NO_POINT) {
                    b->head[q] = (int16_t)p;
                    stack[top++] = q;
                }
            }
        }
        b->next[last] = (int16_t)p;
        b->count[p] = (int16_t)count;
        b->libs[p] = (int16_t)string_liberties(b, p, NULL, 0);
    }
}

uint64_t hash_after(const Board *b, int colour, int p)
{
    uint64_t h = b->hash ^ zobrist[colour][p];
    int other = opponent_of(colour), seen[4], nseen = 0, captured = 0, libs = 0;
    FOR_NEIGHBOURS(b, p, q) {
        int c = b->colour[q];
        if (c == EMPTY) ++libs;
        if (c != BLACK && c != WHITE) continue;
        int g = b->head[q], dup = 0;
        for (int i = 0; i < nseen; ++i) dup |= seen[i] == g;
        if (dup) continue;
        seen[nseen++] = g;
        if (c == other && b->libs[g] == 1) {
            FOR_STONES(b, g, s) h ^= zobrist[other][s];
            captured = 1;
        } else if (c == colour && b->libs[g] > 1) {
            libs = 1;
        }
    }
    if (!captured && !libs) { /* suicide: the new stone and its own neighbours vanish */
        h ^= zobrist[colour][p];
        for (int i = 0; i < nseen; ++i)
            if (b->colour[seen[i]] == colour) FOR_STONES(b, seen[i], s) h ^= zobrist[colour][s];
    }
    return h;
}

int area_score(const Board *b, int8_t *owner_out)
{
    int n = b->stride * b->stride, stack[MAX_POINTS], region[MAX_POINTS], score = 0;
    uint8_t done[MAX_POINTS];
    memset(done, 0, (size_t)n);
    for (int p = 0; p < n; ++p) {
        if (b->colour[p] == BORDER || done[p]) continue;
        int owner = b->colour[p], size = 0;
        if (owner != EMPTY) { /* a stone is its colour's point */
            region[size++] = p;
            done[p] = 1;
        } else { /* an empty region belongs to the one colour it reaches, if only one */
            int top = 0, reach = 0; /* bit BLACK / bit WHITE */
            stack[top++] = p;
            done[p] = 1;
            while (top) {
                int s = stack[--top];
                region[size++] = s;
                FOR_NEIGHBOURS(b, s, q) {
                    int c = b->colour[q];
                    if (c == EMPTY && !done[q]) {
                        done[q] = 1;
                        stack[top++] = q;
                    } else if (c == BLACK || c == WHITE) {
                        reach |= c;
                    }
                }
            }
            owner = reach == BLACK || reach == WHITE ? reach : EMPTY;
        }
        score += owner == BLACK ? size : owner == WHITE ? -size : 0;
        if (owner_out)
            for (int i = 0; i < size; ++i) owner_out[to_flat(b, region[i])] = (int8_t)owner;
    }
    return score;
}

int is_true_eye(const Board *b, int colour, int p)
{
    if (b->colour[p] != EMPTY) return 0;
    FOR_NEIGHBOURS(b, p, q) {
        if (b->colour[q] != colour && b->colour[q] != BORDER) return 0;
    }
    int on_board = 0, enemy = 0, other = opponent_of(colour);
    const int diagonals[4] = {p - b->stride - 1, p - b->stride + 1, p + b->stride - 1, p + b->stride + 1};
    for (int i = 0; i < 4; ++i) {
        int c = b->colour[diagonals[i]];
        on_board += c != BORDER;
        enemy += c == other;
    }
    return on_board == 4 ? enemy <= 1 : enemy == 0;
}
