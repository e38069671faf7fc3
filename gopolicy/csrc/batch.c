/* Training-batch kernels for the dataset loader (CPU path): gathering packed rows out of
 * memory-mapped shards, and unpacking bit-packed planes under a symmetry.
 *
 * Both take numpy arrays through the buffer protocol and release the GIL while they copy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "unpack_planes reads packed bits as little-endian words"
#endif

static void release_all(Py_buffer *views, int count)
{
    for (int i = 0; i < count; ++i)
        if (views[i].obj) PyBuffer_Release(&views[i]);
}

/* Gets `count` buffers (the last `writable` of them writable), all C-contiguous; 0 on error. */
static int get_buffers(PyObject **objs, Py_buffer *views, int count, int writable)
{
    for (int i = 0; i < count; ++i) {
        int flags = i >= count - writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS;
        if (PyObject_GetBuffer(objs[i], &views[i], flags) < 0) {
            release_all(views, i);
            return 0;
        }
    }
    return 1;
}

PyObject *batch_gather_rows(PyObject *module, PyObject *args)
{
    PyObject *sources, *objs[3];
    if (!PyArg_ParseTuple(args, "OOOO", &sources, &objs[0], &objs[1], &objs[2])) return NULL;
    PyObject *seq = PySequence_Fast(sources, "gather_rows: sources must be a sequence of arrays");
    if (!seq) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    Py_buffer v[3] = {{0}}, *src = calloc(count ? count : 1, sizeof(Py_buffer));
    PyObject *result = NULL;
    if (!src) {
        PyErr_NoMemory();
        goto done;
    }
    if (!get_buffers(objs, v, 3, 1)) goto done;
    Py_ssize_t batch = v[0].len / 8, width = batch ? v[2].len / batch : 0;
    const int64_t *which = v[0].buf, *rows = v[1].buf;
    if (v[0].itemsize != 8 || v[1].itemsize != 8 || v[1].len != v[0].len || v[2].len != batch * width || (batch && !width)) {
        PyErr_SetString(PyExc_ValueError, "gather_rows: which, rows and out disagree on the batch size");
        goto release;
    }
    /* Validate everything (and take each touched source's buffer once) before copying. */
    for (Py_ssize_t i = 0; i < batch; ++i) {
        int64_t s = which[i];
        if (s < 0 || s >= count) {
            PyErr_Format(PyExc_IndexError, "gather_rows: source %lld out of range", (long long)s);
            goto release;
        }
        if (!src[s].obj) {
            if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, s), &src[s], PyBUF_C_CONTIGUOUS) < 0) goto release;
            if (src[s].len % width) {
                PyErr_Format(PyExc_ValueError, "gather_rows: source %lld is not made of %zd-byte rows", (long long)s, width);
                goto release;
            }
        }
        if (rows[i] < 0 || rows[i] >= src[s].len / width) {
            PyErr_Format(PyExc_IndexError, "gather_rows: row %lld out of range in source %lld", (long long)rows[i], (long long)s);
            goto release;
        }
    }
    uint8_t *out = v[2].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < batch; ++i)
        memcpy(out + i * width, (const uint8_t *)src[which[i]].buf + rows[i] * width, width);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
release:
    release_all(v, 3);
    release_all(src, (int)count);
done:
    free(src);
    Py_DECREF(seq);
    return result;
}

/* The unpacking kernel for an output item type T. Most plane bits are 0 (about 1 in 10 is set),
 * so each output row is zeroed and then only its set bits are written, each straight to where
 * its symmetry sends it: the cost is the same for all 8 symmetries, transposes included. Rows
 * are taken a symmetry at a time so that the symmetry's table stays in cache. */
#define DEFINE_UNPACK(T)                                                                                \
    static void unpack_##T(const uint8_t *restrict packed, const int64_t *restrict sym, Py_ssize_t batch, \
                           Py_ssize_t width, const uint16_t *restrict dest, Py_ssize_t symmetries,       \
                           Py_ssize_t bits, T one, T *restrict out)                                     \
    {                                                                                                   \
        Py_ssize_t used = (bits + 7) / 8;                                                               \
        for (int64_t s = 0; s < symmetries; ++s)                                                        \
            for (Py_ssize_t b = 0; b < batch; ++b) {                                                    \
                if (sym[b] != s) continue;                                                              \
                const uint8_t *row = packed + b * width;                                                \
                const uint16_t *to = dest + s * bits;                                                    \
                T *dst = out + b * bits;                                                                \
                memset(dst, 0, bits * sizeof(T));                                                       \
                for (Py_ssize_t i = 0; i < used; i += 8) {                                              \
                    /* read as little-endian: its bit q is row bit i * 8 + (q ^ 7) (np.packbits order) */ \
                    uint64_t word = 0;                                                                  \
                    if (used - i >= 8)                                                                  \
                        memcpy(&word, row + i, 8);                                                      \
                    else                                                                                \
                        for (Py_ssize_t k = used - i - 1; k >= 0; --k) word = word << 8 | row[i + k];   \
                    for (; word; word &= word - 1) {                                                    \
                        Py_ssize_t bit = i * 8 + (__builtin_ctzll(word) ^ 7);                           \
                        if (bit < bits) dst[to[bit]] = one; /* else padding at the end of the row */    \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
    }
DEFINE_UNPACK(uint8_t)
DEFINE_UNPACK(uint16_t)
DEFINE_UNPACK(uint32_t)

PyObject *batch_unpack_planes(PyObject *module, PyObject *args)
{
    PyObject *objs[4];
    unsigned long one;
    if (!PyArg_ParseTuple(args, "OOOOk", &objs[0], &objs[1], &objs[2], &objs[3], &one)) return NULL;
    Py_buffer v[4] = {{0}};
    if (!get_buffers(objs, v, 4, 1)) return NULL;
    const uint8_t *packed = v[0].buf;
    const int64_t *sym = v[1].buf;
    const uint16_t *dest = v[2].buf;
    /* dest is (symmetries, bits) uint16; out is (batch, bits) items of 1, 2 or 4 bytes */
    Py_ssize_t batch = v[1].len / 8, width = batch ? v[0].len / batch : 0;
    int ok = v[1].itemsize == 8 && v[2].ndim == 2 && v[2].itemsize == 2 && batch > 0 && v[0].len == batch * width;
    Py_ssize_t symmetries = ok ? v[2].shape[0] : 0, bits = ok ? v[2].shape[1] : 0;
    ok = ok && bits > 0 && bits <= width * 8 && v[3].len % (batch * bits) == 0;
    Py_ssize_t item = ok ? v[3].len / (batch * bits) : 0;
    ok = ok && (item == 1 || item == 2 || item == 4);
    for (Py_ssize_t b = 0; ok && b < batch; ++b) ok = sym[b] >= 0 && sym[b] < symmetries;
    for (Py_ssize_t k = 0; ok && k < symmetries * bits; ++k) ok = dest[k] < bits;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        if (item == 1)
            unpack_uint8_t(packed, sym, batch, width, dest, symmetries, bits, (uint8_t)one, v[3].buf);
        else if (item == 2)
            unpack_uint16_t(packed, sym, batch, width, dest, symmetries, bits, (uint16_t)one, v[3].buf);
        else
            unpack_uint32_t(packed, sym, batch, width, dest, symmetries, bits, (uint32_t)one, v[3].buf);
        Py_END_ALLOW_THREADS
    }
    release_all(v, 4);
    if (!ok) return PyErr_Format(PyExc_ValueError, "unpack_planes: inconsistent buffer shapes or values");
    Py_RETURN_NONE;
}
