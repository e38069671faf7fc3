/* Python binding of the board: gopolicy._board.Board.
 *
 * Speaks flat indices (row * size + col, row 0 at the bottom) and None for a
 * pass. Arrays are filled in place through the buffer protocol (numpy arrays,
 * bytearrays), so the core needs no numpy headers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

#include "batch.h"
#include "board.h"
#include "playout.h"

typedef struct {
    PyObject_HEAD
    Board b;
} BoardObject;

static PyTypeObject BoardType;

static int colour_arg(int colour)
{
    if (colour == BLACK || colour == WHITE) return 1;
    PyErr_Format(PyExc_ValueError, "colour must be 1 (black) or 2 (white), not %d", colour);
    return 0;
}

/* A flat index -> padded point; ILLEGAL_OFF_BOARD's point (NO_POINT) when off the board. */
static int padded(const Board *b, long flat)
{
    return flat >= 0 && flat < (long)b->size * b->size ? to_padded(b, (int)flat) : NO_POINT;
}

/* A move argument: None (pass) -> -1, else the padded point. -2 with an exception set on a bad type. */
static int move_arg(const Board *b, PyObject *move)
{
    if (move == Py_None) return -1;
    int overflow;
    long flat = PyLong_AsLongAndOverflow(move, &overflow);
    if (flat == -1 && PyErr_Occurred()) return -2;
    return overflow ? NO_POINT : padded(b, flat);
}

static int writable(PyObject *obj, Py_buffer *view, Py_ssize_t bytes)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return 0;
    if (view->len != bytes) {
        PyErr_Format(PyExc_ValueError, "buffer has %zd bytes, expected %zd", view->len, bytes);
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

/* The padded point of a flat-index argument that must be on the board. */
static int point_on_board(BoardObject *self, PyObject *arg)
{
    int p = move_arg(&self->b, arg);
    if (p == -2) return -1;
    if (p < 0 || p == NO_POINT) {
        PyErr_SetString(PyExc_ValueError, "point is off the board");
        return -1;
    }
    return p;
}

/* Parses (colour, move, allow_suicide=False): move -> padded point, -1 for a pass. 0 with an exception set on bad input. */
static int colour_move_args(BoardObject *self, PyObject *args, PyObject *kwds, int *colour, int *p, int *allow_suicide)
{
    static char *kwlist[] = {"colour", "move", "allow_suicide", NULL};
    PyObject *move;
    *allow_suicide = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iO|p", kwlist, colour, &move, allow_suicide)) return 0;
    if (!colour_arg(*colour)) return 0;
    *p = move_arg(&self->b, move);
    return *p != -2;
}

/* Parses (colour, out, allow_suicide=False) with out a writable buffer of `bytes` bytes. */
static int colour_buffer_args(BoardObject *self, PyObject *args, PyObject *kwds, int *colour, Py_buffer *view,
                              Py_ssize_t bytes, int *allow_suicide)
{
    static char *kwlist[] = {"colour", "out", "allow_suicide", NULL};
    PyObject *out;
    *allow_suicide = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iO|p", kwlist, colour, &out, allow_suicide)) return 0;
    return colour_arg(*colour) && writable(out, view, bytes);
}

static int Board_init(BoardObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"size", NULL};
    int size = 19;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|i", kwlist, &size)) return -1;
    if (size < 2 || size > MAX_SIZE) {
        PyErr_Format(PyExc_ValueError, "board size %d is not in 2..%d", size, MAX_SIZE);
        return -1;
    }
    board_init(&self->b, size);
    return 0;
}

static PyObject *Board_copy(BoardObject *self, PyObject *unused)
{
    BoardObject *copy = PyObject_New(BoardObject, &BoardType);
    if (copy) copy->b = self->b;
    return (PyObject *)copy;
}

static PyObject *Board_play(BoardObject *self, PyObject *args, PyObject *kwds)
{
    int colour, p, allow_suicide;
    if (!colour_move_args(self, args, kwds, &colour, &p, &allow_suicide)) return NULL;
    if (p == -1) {
        play_pass(&self->b);
        return PyLong_FromLong(0);
    }
    return PyLong_FromLong(play(&self->b, colour, p, allow_suicide));
}

static PyObject *Board_check(BoardObject *self, PyObject *args, PyObject *kwds)
{
    int colour, p, allow_suicide;
    if (!colour_move_args(self, args, kwds, &colour, &p, &allow_suicide)) return NULL;
    return PyLong_FromLong(p == -1 ? MOVE_OK : check_move(&self->b, colour, p, allow_suicide));
}

static PyObject *Board_legal_mask(BoardObject *self, PyObject *args, PyObject *kwds)
{
    int colour, allow_suicide, n = self->b.size * self->b.size;
    Py_buffer view;
    if (!colour_buffer_args(self, args, kwds, &colour, &view, n, &allow_suicide)) return NULL;
    uint8_t *mask = view.buf;
    for (int f = 0; f < n; ++f) mask[f] = check_move(&self->b, colour, to_padded(&self->b, f), allow_suicide) == MOVE_OK;
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *Board_hashes_after(BoardObject *self, PyObject *args, PyObject *kwds)
{
    int colour, allow_suicide, n = self->b.size * self->b.size;
    Py_buffer view;
    if (!colour_buffer_args(self, args, kwds, &colour, &view, n * (Py_ssize_t)sizeof(uint64_t), &allow_suicide)) return NULL;
    uint64_t *hashes = view.buf;
    for (int f = 0; f < n; ++f) {
        int p = to_padded(&self->b, f);
        hashes[f] = check_move(&self->b, colour, p, allow_suicide) == MOVE_OK ? hash_after(&self->b, colour, p) : 0;
    }
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *Board_hash_after(BoardObject *self, PyObject *args, PyObject *kwds)
{
    int colour, p, allow_suicide;
    if (!colour_move_args(self, args, kwds, &colour, &p, &allow_suicide)) return NULL;
    if (p < 0 || p == NO_POINT) {
        PyErr_SetString(PyExc_ValueError, "hash_after needs a point on the board");
        return NULL;
    }
    if (check_move(&self->b, colour, p, allow_suicide) != MOVE_OK) {
        PyErr_SetString(PyExc_ValueError, "hash_after needs a legal move");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(hash_after(&self->b, colour, p));
}

static PyObject *Board_set_stones(BoardObject *self, PyObject *args)
{
    PyObject *points, *iter, *item;
    int colour;
    if (!PyArg_ParseTuple(args, "Oi", &points, &colour)) return NULL;
    if (colour != EMPTY && !colour_arg(colour)) return NULL;
    if (!(iter = PyObject_GetIter(points))) return NULL;
    while ((item = PyIter_Next(iter))) {
        int p = move_arg(&self->b, item);
        Py_DECREF(item);
        if (p < 0 || p == NO_POINT) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "setup point is off the board");
            break;
        }
        set_stone(&self->b, p, colour);
    }
    Py_DECREF(iter);
    rebuild_strings(&self->b);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Board_stones(BoardObject *self, PyObject *out)
{
    Py_buffer view;
    int n = self->b.size * self->b.size;
    if (!writable(out, &view, n)) return NULL;
    int8_t *stones = view.buf;
    for (int f = 0; f < n; ++f) stones[f] = (int8_t)self->b.colour[to_padded(&self->b, f)];
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *Board_colour_at(BoardObject *self, PyObject *arg)
{
    int p = point_on_board(self, arg);
    return p < 0 ? NULL : PyLong_FromLong(self->b.colour[p]);
}

static PyObject *Board_liberties(BoardObject *self, PyObject *arg)
{
    int p = point_on_board(self, arg);
    if (p < 0) return NULL;
    int c = self->b.colour[p];
    return PyLong_FromLong(c == BLACK || c == WHITE ? self->b.libs[self->b.head[p]] : 0);
}

static PyObject *Board_string(BoardObject *self, PyObject *arg)
{
    int p = point_on_board(self, arg);
    if (p < 0) return NULL;
    PyObject *list = PyList_New(0);
    int c = self->b.colour[p];
    if (!list || (c != BLACK && c != WHITE)) return list;
    FOR_STONES(&self->b, p, s) {
        PyObject *flat = PyLong_FromLong(to_flat(&self->b, s));
        if (!flat || PyList_Append(list, flat) < 0) {
            Py_XDECREF(flat);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(flat);
    }
    PyList_Sort(list);
    return list;
}

static PyObject *Board_area_score(BoardObject *self, PyObject *args)
{
    PyObject *out = Py_None;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "|O", &out)) return NULL;
    if (out == Py_None) return PyLong_FromLong(area_score(&self->b, NULL));
    if (!writable(out, &view, self->b.size * self->b.size)) return NULL;
    int score = area_score(&self->b, view.buf);
    PyBuffer_Release(&view);
    return PyLong_FromLong(score);
}

static PyObject *Board_planes(BoardObject *self, PyObject *args)
{
    PyObject *out;
    Py_buffer view;
    int player, n = self->b.size * self->b.size;
    if (!PyArg_ParseTuple(args, "iO", &player, &out)) return NULL;
    if (!colour_arg(player)) return NULL;
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return NULL;
    int nplanes = (int)(view.len / n);
    if (view.len % n || nplanes > 49) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "planes buffer of %zd bytes is not k x %d x %d, k <= 49", view.len,
                            self->b.size, self->b.size);
    }
    memset(view.buf, 0, (size_t)view.len);
    compute_planes(&self->b, player, nplanes, view.buf);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *Board_playout_ownership(BoardObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"colour", "playouts", "seed", "out", "max_moves", "allow_suicide", "neutral", NULL};
    int colour, playouts, max_moves = 0, allow_suicide = 0;
    unsigned long long seed;
    PyObject *out, *neutral = Py_None;
    Py_buffer view, neutral_view = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iiKO|ipO", kwlist, &colour, &playouts, &seed, &out, &max_moves,
                                     &allow_suicide, &neutral))
        return NULL;
    if (!colour_arg(colour)) return NULL;
    if (playouts < 1) return PyErr_Format(PyExc_ValueError, "playouts must be at least 1, got %d", playouts);
    if (max_moves <= 0) max_moves = 3 * self->b.size * self->b.size;
    Py_ssize_t bytes = (Py_ssize_t)sizeof(int32_t) * self->b.size * self->b.size;
    if (!writable(out, &view, bytes)) return NULL;
    if (neutral != Py_None && !writable(neutral, &neutral_view, bytes)) {
        PyBuffer_Release(&view);
        return NULL;
    }
    int32_t *neutral_sum = neutral != Py_None ? neutral_view.buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    playout_ownership(&self->b, colour, playouts, (uint64_t)seed, max_moves, allow_suicide, view.buf, neutral_sum);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (neutral_sum) PyBuffer_Release(&neutral_view);
    Py_RETURN_NONE;
}

typedef int (*PointQuery)(const Board *, int, int);

static PyObject *point_query(BoardObject *self, PyObject *args, PointQuery query)
{
    int colour;
    PyObject *point;
    if (!PyArg_ParseTuple(args, "iO", &colour, &point)) return NULL;
    if (!colour_arg(colour)) return NULL;
    int p = point_on_board(self, point);
    return p < 0 ? NULL : PyBool_FromLong(query(&self->b, colour, p));
}

static PyObject *Board_is_true_eye(BoardObject *self, PyObject *args) { return point_query(self, args, is_true_eye); }
static PyObject *Board_ladder_capture(BoardObject *self, PyObject *args) { return point_query(self, args, ladder_capture_move); }
static PyObject *Board_ladder_escape(BoardObject *self, PyObject *args) { return point_query(self, args, ladder_escape_move); }

static PyObject *Board_get_size(BoardObject *self, void *c) { return PyLong_FromLong(self->b.size); }
static PyObject *Board_get_move_count(BoardObject *self, void *c) { return PyLong_FromLong(self->b.move_count); }
static PyObject *Board_get_hash(BoardObject *self, void *c) { return PyLong_FromUnsignedLongLong(self->b.hash); }
static PyObject *Board_get_ko(BoardObject *self, void *c)
{
    if (self->b.ko_point == NO_POINT) Py_RETURN_NONE;
    return Py_BuildValue("(ii)", to_flat(&self->b, self->b.ko_point), self->b.ko_colour);
}
static PyObject *Board_get_captures(BoardObject *self, void *c)
{
    return Py_BuildValue("(ii)", self->b.captures[BLACK], self->b.captures[WHITE]);
}

static PyMethodDef Board_methods[] = {
    {"copy", (PyCFunction)Board_copy, METH_NOARGS, "An independent copy."},
    {"__copy__", (PyCFunction)Board_copy, METH_NOARGS, "An independent copy."},
    {"play", (PyCFunction)(void (*)(void))Board_play, METH_VARARGS | METH_KEYWORDS,
     "play(colour, move, allow_suicide=False) -> stones captured (>= 0), or a negative ILLEGAL_* code "
     "with the board unchanged. move: flat index, or None to pass."},
    {"check", (PyCFunction)(void (*)(void))Board_check, METH_VARARGS | METH_KEYWORDS,
     "check(colour, move, allow_suicide=False) -> 0 if legal (simple ko, suicide), else the ILLEGAL_* code."},
    {"legal_mask", (PyCFunction)(void (*)(void))Board_legal_mask, METH_VARARGS | METH_KEYWORDS,
     "legal_mask(colour, out, allow_suicide=False): out[f] = 1 where colour may play f (size*size bytes)."},
    {"hashes_after", (PyCFunction)(void (*)(void))Board_hashes_after, METH_VARARGS | METH_KEYWORDS,
     "hashes_after(colour, out, allow_suicide=False): out[f] = stone hash after colour plays f, 0 if illegal "
     "(size*size uint64)."},
    {"hash_after", (PyCFunction)(void (*)(void))Board_hash_after, METH_VARARGS | METH_KEYWORDS,
     "hash_after(colour, move, allow_suicide=False) -> stone hash after the legal move (for superko)."},
    {"set_stones", (PyCFunction)Board_set_stones, METH_VARARGS,
     "set_stones(points, colour): setup stones (colour 0 removes); no captures, no history."},
    {"stones", (PyCFunction)Board_stones, METH_O, "stones(out): out[f] = 0 empty, 1 black, 2 white (size*size int8)."},
    {"colour_at", (PyCFunction)Board_colour_at, METH_O, "colour_at(point) -> 0 empty, 1 black, 2 white."},
    {"liberties", (PyCFunction)Board_liberties, METH_O, "liberties(point) -> liberties of its string (0 if empty)."},
    {"string", (PyCFunction)Board_string, METH_O, "string(point) -> sorted points of its string ([] if empty)."},
    {"area_score", (PyCFunction)Board_area_score, METH_VARARGS,
     "area_score(owner_out=None) -> Tromp-Taylor black area minus white area, no komi; fills owner_out "
     "(size*size int8: 0 neutral, 1 black, 2 white) if given."},
    {"planes", (PyCFunction)Board_planes, METH_VARARGS,
     "planes(player, out): AlphaGo feature planes for player to move into out (k x size x size uint8, k <= 49)."},
    {"playout_ownership", (PyCFunction)(void (*)(void))Board_playout_ownership, METH_VARARGS | METH_KEYWORDS,
     "playout_ownership(colour, playouts, seed, out, max_moves=0, allow_suicide=False, neutral=None): random "
     "playouts from this position (colour to move; the board is unchanged); out[f] (size*size int32) = playouts "
     "that end with f Black's minus those with f White's; neutral[f] (optional, the same shape) = playouts that "
     "end with f nobody's. max_moves 0: 3 * size * size."},
    {"is_true_eye", (PyCFunction)Board_is_true_eye, METH_VARARGS, "is_true_eye(colour, point) -> bool."},
    {"ladder_capture", (PyCFunction)Board_ladder_capture, METH_VARARGS,
     "ladder_capture(player, point) -> whether player's move at point is a successful ladder capture."},
    {"ladder_escape", (PyCFunction)Board_ladder_escape, METH_VARARGS,
     "ladder_escape(player, point) -> whether player's move at point is a successful ladder escape."},
    {NULL}};

static PyGetSetDef Board_getset[] = {
    {"size", (getter)Board_get_size, NULL, "Board size.", NULL},
    {"move_count", (getter)Board_get_move_count, NULL, "Moves played so far, passes included.", NULL},
    {"hash", (getter)Board_get_hash, NULL, "Zobrist hash of the stones (for positional superko).", NULL},
    {"ko", (getter)Board_get_ko, NULL, "(point, colour barred from it) for a simple ko, else None.", NULL},
    {"captures", (getter)Board_get_captures, NULL, "(stones captured by black, by white).", NULL},
    {NULL}};

static PyTypeObject BoardType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gopolicy._board.Board",
    .tp_basicsize = sizeof(BoardObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Board(size=19): a Go board with incremental strings and liberties (see gopolicy/csrc/board.h).",
    .tp_methods = Board_methods,
    .tp_getset = Board_getset,
    .tp_init = (initproc)Board_init,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef module_methods[] = {
    {"gather_rows", batch_gather_rows, METH_VARARGS,
     "gather_rows(sources, which, rows, out): out[i] = sources[which[i]][rows[i]] (whole rows of bytes)."},
    {"unpack_planes", batch_unpack_planes, METH_VARARGS,
     "unpack_planes(packed, symmetries, dest, out, one): unpack bit-packed rows, sending bit k of a row under "
     "symmetry s to dest[s, k] (uint16); writes 0 or `one` (the bit pattern of 1 in out's item type)."},
    {NULL}};

static struct PyModuleDef board_module = {PyModuleDef_HEAD_INIT, "gopolicy._board",
                                          "Compiled Go rules and feature-plane core.", -1, module_methods};

PyMODINIT_FUNC PyInit__board(void)
{
    zobrist_init();
    if (PyType_Ready(&BoardType) < 0) return NULL;
    PyObject *m = PyModule_Create(&board_module);
    if (!m) return NULL;
    Py_INCREF(&BoardType);
    if (PyModule_AddObject(m, "Board", (PyObject *)&BoardType) < 0) return NULL;
    PyModule_AddIntConstant(m, "MAX_SIZE", MAX_SIZE);
    PyModule_AddIntConstant(m, "ILLEGAL_OCCUPIED", ILLEGAL_OCCUPIED);
    PyModule_AddIntConstant(m, "ILLEGAL_KO", ILLEGAL_KO);
    PyModule_AddIntConstant(m, "ILLEGAL_SUICIDE", ILLEGAL_SUICIDE);
    PyModule_AddIntConstant(m, "ILLEGAL_OFF_BOARD", ILLEGAL_OFF_BOARD);
    return m;
}
