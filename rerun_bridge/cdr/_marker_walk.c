/*
 * A MarkerArray's layout walked in C: where each marker's fields lie, marker after marker. Strings and
 * sequences decide where the next marker starts, so the walk is sequential; Python steps through it at
 * tens of microseconds a marker and rerun_bridge/cdr/marker_scan.py finds it with numpy over all
 * candidate starts at once (about half a microsecond a marker); here it is a few nanoseconds a field.
 * The checks are those of the numpy walk (and of the marker-by-marker reader): every string has a NUL
 * inside the payload, every sequence fits it and holds at most max_sequence elements. Built by setup.py
 * as an optional extension; marker_scan.py keeps the numpy walk as the fallback and the reference.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* The columns of the table, in this order (marker_scan.WALK_FIELDS names them): where each field lies,
 * then the marker's stamp, id, type, action and lifetime. */
enum {
    START, FRAME, FRAME_LENGTH, NS, NS_LENGTH, IDS_AT, FIXED, POINTS, POINT_COUNT, COLORS, COLOR_COUNT,
    TEXTURE_RESOURCE, TEXTURE_RESOURCE_LENGTH, TEXTURE_FRAME, TEXTURE_FRAME_LENGTH, TEXTURE_FORMAT,
    TEXTURE_FORMAT_LENGTH, TEXT, TEXT_LENGTH, MESH_RESOURCE, MESH_RESOURCE_LENGTH, MESH_FILE,
    MESH_FILE_LENGTH, NEXT, END, STAMP_NS, ID, TYPE, ACTION, LIFETIME_NS, COLUMNS
};

/* Per marker, position (3), orientation (4) and scale (3) as float64, then the colour's 4 float32. */
enum { POSE_VALUES = 10, COLOR_VALUES = 4, VALUES = POSE_VALUES + COLOR_VALUES };

enum {
    POINT_BYTES = 24, COLOR_BYTES = 16, UV_BYTES = 8, STAMP_BYTES = 8,
    /* Offsets within the 8-aligned block after a marker's id, type and action. */
    COLOR_AT = 80, LIFETIME_AT = 96, FRAME_LOCKED_AT = 104,
};

typedef struct {
    const unsigned char *body;
    int64_t size;
    int64_t max_sequence;
} Walk;

static inline int64_t align(int64_t pos, int64_t to) { return (pos + to - 1) & -to; }

/* A builtin_interfaces/Time or Duration at a position known to be inside the payload, in nanoseconds. */
static inline int64_t time_ns(const unsigned char *at) {
    int32_t seconds;
    uint32_t nanoseconds;
    memcpy(&seconds, at, 4);
    memcpy(&nanoseconds, at + 4, 4);
    return (int64_t)seconds * 1000000000 + (int64_t)nanoseconds;
}

static inline int read_u32(const Walk *walk, int64_t pos, int64_t *value) {
    if (pos < 0 || pos + 4 > walk->size) {
        return 0;
    }
    uint32_t word;
    memcpy(&word, walk->body + pos, 4);
    *value = (int64_t)word; /* little-endian hosts only: setup builds this on x86-64 and arm64 */
    return 1;
}

/* A string at pos: its characters' start and length with the NUL; returns the position after it, or -1. */
static inline int64_t string_at(const Walk *walk, int64_t pos, int64_t *start, int64_t *length) {
    pos = align(pos, 4);
    if (!read_u32(walk, pos, length)) {
        return -1;
    }
    const int64_t end = pos + 4 + *length;
    if (*length < 1 || end > walk->size || walk->body[end - 1] != 0) {
        return -1;
    }
    *start = pos + 4;
    return end;
}

/* A sequence of items of item bytes at pos: its elements' start and count; the position after, or -1. */
static inline int64_t sequence_at(const Walk *walk, int64_t pos, int64_t item, int align8, int64_t *start,
                                  int64_t *count) {
    pos = align(pos, 4);
    if (!read_u32(walk, pos, count)) {
        return -1;
    }
    pos += 4;
    if (*count > walk->max_sequence || pos + *count * item > walk->size) {
        return -1;
    }
    if (align8 && *count > 0) {
        pos = align(pos, 8);
    }
    const int64_t end = pos + *count * item;
    if (end > walk->size) {
        return -1;
    }
    *start = pos;
    return end;
}

/* One marker at pos into row[column * stride] and its VALUES numbers; returns 0 when it does not fit. */
static int walk_marker(const Walk *walk, int64_t pos, int64_t *row, Py_ssize_t stride, double *values) {
#define SET(column, value) row[(column) * stride] = (value)
    int64_t start, length, ignored;
    SET(START, pos);
    if ((pos = string_at(walk, pos + STAMP_BYTES, &start, &length)) < 0) return 0;
    SET(FRAME, start), SET(FRAME_LENGTH, length);
    if ((pos = string_at(walk, pos, &start, &length)) < 0) return 0;
    SET(NS, start), SET(NS_LENGTH, length);
    const int64_t ids_at = align(pos, 4); /* id, type, action, then the 8-aligned pose */
    const int64_t fixed = align(ids_at + 12, 8);
    SET(IDS_AT, ids_at), SET(FIXED, fixed);
    if (fixed + FRAME_LOCKED_AT + 1 > walk->size) return 0;
    if ((pos = sequence_at(walk, fixed + FRAME_LOCKED_AT + 1, POINT_BYTES, 1, &start, &length)) < 0) return 0;
    SET(POINTS, start), SET(POINT_COUNT, length);
    if ((pos = sequence_at(walk, pos, COLOR_BYTES, 0, &start, &length)) < 0) return 0;
    SET(COLORS, start), SET(COLOR_COUNT, length);
    if ((pos = string_at(walk, pos, &start, &length)) < 0) return 0;
    SET(TEXTURE_RESOURCE, start), SET(TEXTURE_RESOURCE_LENGTH, length);
    pos = align(pos, 4);
    if (pos + STAMP_BYTES > walk->size) return 0; /* the texture header's stamp */
    if ((pos = string_at(walk, pos + STAMP_BYTES, &start, &length)) < 0) return 0;
    SET(TEXTURE_FRAME, start), SET(TEXTURE_FRAME_LENGTH, length);
    if ((pos = string_at(walk, pos, &start, &length)) < 0) return 0;
    SET(TEXTURE_FORMAT, start), SET(TEXTURE_FORMAT_LENGTH, length);
    if ((pos = sequence_at(walk, pos, 1, 0, &ignored, &length)) < 0) return 0; /* texture data */
    if ((pos = sequence_at(walk, pos, UV_BYTES, 0, &ignored, &length)) < 0) return 0;
    if ((pos = string_at(walk, pos, &start, &length)) < 0) return 0;
    SET(TEXT, start), SET(TEXT_LENGTH, length);
    if ((pos = string_at(walk, pos, &start, &length)) < 0) return 0;
    SET(MESH_RESOURCE, start), SET(MESH_RESOURCE_LENGTH, length);
    if ((pos = string_at(walk, pos, &start, &length)) < 0) return 0;
    SET(MESH_FILE, start), SET(MESH_FILE_LENGTH, length);
    if ((pos = sequence_at(walk, pos, 1, 0, &ignored, &length)) < 0) return 0; /* mesh_file.data */
    if (pos >= walk->size) return 0; /* mesh_use_embedded_materials */
    SET(NEXT, align(pos + 1, 4)), SET(END, pos + 1);
    /* The numbers, all inside the payload now that the whole marker is. */
    const unsigned char *body = walk->body;
    int32_t id_type_action[3];
    memcpy(id_type_action, body + ids_at, sizeof id_type_action);
    SET(ID, id_type_action[0]), SET(TYPE, id_type_action[1]), SET(ACTION, id_type_action[2]);
    SET(STAMP_NS, time_ns(body + row[START * stride]));
    SET(LIFETIME_NS, time_ns(body + fixed + LIFETIME_AT));
    memcpy(values, body + fixed, POSE_VALUES * sizeof(double));
    float color[COLOR_VALUES];
    memcpy(color, body + fixed + COLOR_AT, sizeof color);
    for (int channel = 0; channel < COLOR_VALUES; ++channel) {
        values[POSE_VALUES + channel] = color[channel];
    }
    return 1;
#undef SET
}

/*
 * walk_markers(body, count, max_sequence, table, values) -> bool
 *
 * body: a MarkerArray's CDR after its encapsulation header, the marker count at 0 and the first marker at
 * 4. table: a writable int64 buffer of COLUMNS x count, column-major (one column per field, markers in
 * order); values: a writable float64 buffer of count x VALUES, row-major (a marker's pose, scale and
 * colour). Returns False when a marker does not fit (the caller reads the array marker by marker, which
 * says why); the buffers are then partly written.
 */
static PyObject *walk_markers(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer body, table, values;
    Py_ssize_t count, max_sequence;
    if (!PyArg_ParseTuple(args, "y*nnw*w*", &body, &count, &max_sequence, &table, &values)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (count < 0 || max_sequence < 0) {
        PyErr_SetString(PyExc_ValueError, "negative count");
    } else if (table.len < (Py_ssize_t)(count * COLUMNS * sizeof(int64_t))) {
        PyErr_SetString(PyExc_ValueError, "the table is smaller than count x the fields");
    } else if (values.len < (Py_ssize_t)(count * VALUES * sizeof(double))) {
        PyErr_SetString(PyExc_ValueError, "the values are smaller than count x the numbers");
    } else {
        const Walk walk = {(const unsigned char *)body.buf, (int64_t)body.len, (int64_t)max_sequence};
        int64_t *columns = (int64_t *)table.buf;
        double *numbers = (double *)values.buf;
        int fits = 1;
        int64_t pos = 4;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t index = 0; index < count; ++index) {
            if (!walk_marker(&walk, pos, columns + index, count, numbers + index * VALUES)) {
                fits = 0;
                break;
            }
            pos = columns[NEXT * count + index];
        }
        Py_END_ALLOW_THREADS
        result = PyBool_FromLong(fits);
    }
    PyBuffer_Release(&body);
    PyBuffer_Release(&table);
    PyBuffer_Release(&values);
    return result;
}

static PyMethodDef methods[] = {
    {"walk_markers", walk_markers, METH_VARARGS, "Where each marker's fields lie; see the C source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_marker_walk",
    .m_doc = "A MarkerArray's layout walked in C.",
    .m_size = -1,
    .m_methods = methods,
};

/* Bumped with every change of the functions' signatures or meaning: Python refuses another version (a
 * build from older sources left in place) and takes its numpy path instead. */
#define API_VERSION 1

PyMODINIT_FUNC PyInit__marker_walk(void) {
    PyObject *module = PyModule_Create(&module_definition);
    if (module != NULL && PyModule_AddIntConstant(module, "API_VERSION", API_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
