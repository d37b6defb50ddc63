/*
 * The PointCloud2 hot loop in C: drop the points whose x, y or z is not finite and gather the rest into
 * contiguous columns (positions, and each other field): one pass over the records checks x, y, z and
 * writes the positions, then one tight loop per field copies it. numpy needs a pass per step (isfinite
 * over every float, the flags of a row read as one word, a masked copy of the records, then a copy of
 * each strided column when it is written), and on a lidar cloud those passes are most of what a
 * conversion spends per cloud. Built by setup.py as an optional extension;
 * rerun_bridge/convert/pointcloud.py keeps the numpy path as the fallback and the reference.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* A float32 is finite unless all its exponent bits are set (inf or NaN); read as bits, no FP traps. */
static inline int finite_bits(uint32_t bits) { return (bits & 0x7f800000u) != 0x7f800000u; }

/* Fields beyond x, y, z one call gathers (the module's MAX_FIELDS); a layout with more goes to numpy. */
#define MAX_FIELDS 64

/* One field of the kept points into its column: a loop per common size, so each is a tight fixed-size copy. */
#define GATHER(type)                                                                                        \
    for (size_t k = 0; k < kept; ++k) {                                                                    \
        type value;                                                                                        \
        memcpy(&value, source + (size_t)indices[k] * step + offset, sizeof value);                         \
        memcpy(column + k * sizeof value, &value, sizeof value);                                           \
    }

static void gather_field(unsigned char *column, const unsigned char *source, size_t step, size_t offset,
                         size_t size, const uint32_t *indices, size_t kept) {
    switch (size) {
    case 1: GATHER(uint8_t); break;
    case 2: GATHER(uint16_t); break;
    case 4: GATHER(uint32_t); break;
    case 8: GATHER(uint64_t); break;
    default:
        for (size_t k = 0; k < kept; ++k) {
            memcpy(column + k * size, source + (size_t)indices[k] * step + offset, size);
        }
    }
}

static int read_sizes(PyObject *sequence, Py_ssize_t count, Py_ssize_t *values, const char *what) {
    for (Py_ssize_t index = 0; index < count; ++index) {
        values[index] = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(sequence, index));
        if (values[index] == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (values[index] < 0) {
            PyErr_Format(PyExc_ValueError, "negative %s", what);
            return -1;
        }
    }
    return 0;
}

/*
 * gather_finite_points(records, point_step, x_offset, positions_out, offsets, sizes, columns_out) -> kept
 *
 * records: the points' bytes, point_step bytes each, x, y, z native float32 side by side at x_offset.
 * positions_out: room for 3 float32 per point; receives the x, y, z of the points whose three are finite.
 * offsets, sizes: where each other field lies in a record, in bytes; columns_out: one writable buffer per
 * field with room for `size` bytes per point, receiving that field of the kept points, contiguous.
 * Returns the number of points kept.
 */
static PyObject *gather_finite_points(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer records, positions_out;
    Py_buffer columns[MAX_FIELDS];
    Py_ssize_t offsets[MAX_FIELDS], sizes[MAX_FIELDS];
    Py_ssize_t point_step, x_offset, fields = 0, acquired = 0;
    PyObject *offset_list, *size_list, *column_list;
    PyObject *offset_items = NULL, *size_items = NULL, *column_items = NULL, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*nnw*OOO", &records, &point_step, &x_offset, &positions_out, &offset_list,
                          &size_list, &column_list)) {
        return NULL;
    }
    if (point_step <= 0 || x_offset < 0 || x_offset > point_step - 12) {
        PyErr_Format(PyExc_ValueError, "x, y, z at offset %zd do not fit a point of %zd bytes", x_offset,
                     point_step);
        goto done;
    }
    offset_items = PySequence_Fast(offset_list, "offsets must be a sequence");
    size_items = PySequence_Fast(size_list, "sizes must be a sequence");
    column_items = PySequence_Fast(column_list, "columns must be a sequence");
    if (offset_items == NULL || size_items == NULL || column_items == NULL) {
        goto done;
    }
    fields = PySequence_Fast_GET_SIZE(offset_items);
    if (PySequence_Fast_GET_SIZE(size_items) != fields || PySequence_Fast_GET_SIZE(column_items) != fields) {
        PyErr_SetString(PyExc_ValueError, "offsets, sizes and columns differ in length");
        goto done;
    }
    if (fields > MAX_FIELDS) {
        PyErr_Format(PyExc_ValueError, "more than %d fields", MAX_FIELDS);
        goto done;
    }
    if (read_sizes(offset_items, fields, offsets, "offset") || read_sizes(size_items, fields, sizes, "size")) {
        goto done;
    }
    const Py_ssize_t count = records.len / point_step;
    if (positions_out.len < count * 12) {
        PyErr_SetString(PyExc_ValueError, "the positions buffer is smaller than the cloud");
        goto done;
    }
    for (; acquired < fields; ++acquired) {
        PyObject *column = PySequence_Fast_GET_ITEM(column_items, acquired);
        if (PyObject_GetBuffer(column, &columns[acquired], PyBUF_WRITABLE) < 0) {
            goto done;
        }
        if (offsets[acquired] > point_step || sizes[acquired] > point_step - offsets[acquired]) {
            PyErr_Format(PyExc_ValueError, "field %zd does not fit a point of %zd bytes", acquired, point_step);
            ++acquired;
            goto done;
        }
        if (columns[acquired].len < count * sizes[acquired]) {
            PyErr_Format(PyExc_ValueError, "the buffer of field %zd is smaller than the cloud", acquired);
            ++acquired;
            goto done;
        }
    }
    const unsigned char *source = (const unsigned char *)records.buf;
    unsigned char *positions = (unsigned char *)positions_out.buf;
    const size_t step = (size_t)point_step;
    if ((uint64_t)count > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more than 2^32 points");
        goto done;
    }
    /* The kept points' indices: x, y, z are checked once, then each field is gathered by its own loop. */
    uint32_t *indices = PyMem_RawMalloc(((size_t)count + 1) * sizeof *indices);
    if (indices == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    size_t kept = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t index = 0; index < count; ++index) {
        uint32_t xyz[3];
        memcpy(xyz, source + (size_t)index * step + x_offset, sizeof xyz); /* any alignment */
        if (finite_bits(xyz[0]) & finite_bits(xyz[1]) & finite_bits(xyz[2])) {
            memcpy(positions + kept * sizeof xyz, xyz, sizeof xyz);
            indices[kept++] = (uint32_t)index;
        }
    }
    for (Py_ssize_t field = 0; field < fields; ++field) {
        gather_field((unsigned char *)columns[field].buf, source, step, (size_t)offsets[field],
                     (size_t)sizes[field], indices, kept);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(indices);
    result = PyLong_FromSize_t(kept);
done:
    for (Py_ssize_t index = 0; index < acquired; ++index) {
        PyBuffer_Release(&columns[index]);
    }
    Py_XDECREF(offset_items);
    Py_XDECREF(size_items);
    Py_XDECREF(column_items);
    PyBuffer_Release(&records);
    PyBuffer_Release(&positions_out);
    return result;
}

static PyMethodDef methods[] = {
    {"gather_finite_points", gather_finite_points, METH_VARARGS,
     "The points with finite x, y, z, gathered into columns; see the C source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_cloud_native",
    .m_doc = "PointCloud2 hot loops in C.",
    .m_size = -1,
    .m_methods = methods,
};

/* Bumped with every change of the module's functions, constants or their meaning: Python refuses another
 * version (a build from older sources left in place) and takes its numpy path instead. */
#define API_VERSION 2

PyMODINIT_FUNC PyInit__cloud_native(void) {
    PyObject *module = PyModule_Create(&module_definition);
    if (module != NULL && (PyModule_AddIntConstant(module, "API_VERSION", API_VERSION) < 0 ||
                           PyModule_AddIntConstant(module, "MAX_FIELDS", MAX_FIELDS) < 0)) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
