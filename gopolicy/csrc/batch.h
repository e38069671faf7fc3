/* Training-batch kernels (batch.c), registered by module.c. */
#ifndef GOPOLICY_BATCH_H
#define GOPOLICY_BATCH_H

#include <Python.h>

/* gather_rows(sources, which, rows, out): out[i] = sources[which[i]][rows[i]], whole rows of
 * bytes; sources: C-contiguous arrays of out's row width; which, rows: (B,) int64. */
PyObject *batch_gather_rows(PyObject *module, PyObject *args);

/* unpack_planes(packed, symmetries, dest, out, one): packed: (B, width) uint8, np.packbits of
 * each row's bits; symmetries: (B,) int64; dest: (S, bits) uint16, where bit k of a row lands
 * under symmetry s; out: (B, bits) of 1-, 2- or 4-byte items, set to 0 or the bit pattern one. */
PyObject *batch_unpack_planes(PyObject *module, PyObject *args);

#endif
