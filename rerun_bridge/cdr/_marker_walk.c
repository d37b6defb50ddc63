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

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The columns of the table, in this order (marker_scan.WALK_FIELDS names them): where each field lies,
 * then the marker's stamp, id, type, action and lifetime, then the codes of its header frame and
 * namespace (the index of the distinct string, in the order each first appears). */
enum {
    START, FRAME, FRAME_LENGTH, NS, NS_LENGTH, IDS_AT, FIXED, POINTS, POINT_COUNT, COLORS, COLOR_COUNT,
    TEXTURE_RESOURCE, TEXTURE_RESOURCE_LENGTH, TEXTURE_FRAME, TEXTURE_FRAME_LENGTH, TEXTURE_FORMAT,
    TEXTURE_FORMAT_LENGTH, TEXT, TEXT_LENGTH, MESH_RESOURCE, MESH_RESOURCE_LENGTH, MESH_FILE,
    MESH_FILE_LENGTH, NEXT, END, STAMP_NS, ID, TYPE, ACTION, LIFETIME_NS, FRAME_CODE, NS_CODE, COLUMNS
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

/* Releases the buffers given, up to a NULL. */
static void release(Py_buffer *buffer, ...) {
    va_list rest;
    va_start(rest, buffer);
    for (; buffer != NULL; buffer = va_arg(rest, Py_buffer *)) {
        PyBuffer_Release(buffer);
    }
    va_end(rest);
}

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


/* Whether length bytes at text are UTF-8 as Python's strict decoder takes it (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF). ASCII, the common case, eight bytes at a time. */
static int is_utf8(const unsigned char *text, int64_t length) {
    int64_t at = 0;
    while (at < length) {
        if (at + 8 <= length) {
            uint64_t word;
            memcpy(&word, text + at, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                at += 8;
                continue;
            }
        }
        const unsigned char lead = text[at];
        if (lead < 0x80) {
            at += 1;
            continue;
        }
        int64_t more;
        unsigned char low = 0x80, high = 0xBF; /* the range of the byte after the lead */
        if (lead >= 0xC2 && lead <= 0xDF) {
            more = 1;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            more = 2;
            if (lead == 0xE0) low = 0xA0;      /* overlong */
            else if (lead == 0xED) high = 0x9F; /* surrogates */
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            more = 3;
            if (lead == 0xF0) low = 0x90;      /* overlong */
            else if (lead == 0xF4) high = 0x8F; /* past U+10FFFF */
        } else {
            return 0;
        }
        if (at + more >= length) return 0; /* cut short */
        if (text[at + 1] < low || text[at + 1] > high) return 0;
        for (int64_t next = 2; next <= more; ++next) {
            if ((text[at + next] & 0xC0) != 0x80) return 0;
        }
        at += more + 1;
    }
    return 1;
}

/* The distinct strings of one column (frames or namespaces): each marker's code is the index of its
 * string among them, in the order they first appear. Consecutive markers mostly share their string, so
 * the previous marker's is compared first; a hash table (made on the first miss) finds the others. */
typedef struct {
    const unsigned char *body;
    const int64_t *starts, *lengths; /* the column's strings: characters and length with the NUL */
    int64_t *firsts;                 /* per code, the first marker with that string */
    int64_t codes;
    int64_t *slots; /* code + 1 per slot, 0 empty */
    uint64_t mask;
    int64_t last;
} Interner;

static int same_string(const Interner *in, Py_ssize_t first, Py_ssize_t index) {
    return in->lengths[first] == in->lengths[index] &&
           memcmp(in->body + in->starts[first], in->body + in->starts[index], (size_t)in->lengths[index]) == 0;
}

static uint64_t string_hash(const unsigned char *text, int64_t length) {
    uint64_t hash = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (int64_t at = 0; at < length; ++at) {
        hash = (hash ^ text[at]) * 0x100000001b3ULL;
    }
    return hash;
}

/* Inserts code into the table at its string's slot (the table has room: it holds at most count codes). */
static void place_code(Interner *in, int64_t code) {
    const Py_ssize_t first = in->firsts[code];
    uint64_t slot = string_hash(in->body + in->starts[first], in->lengths[first]) & in->mask;
    while (in->slots[slot] != 0) slot = (slot + 1) & in->mask;
    in->slots[slot] = code + 1;
}

/* The code of marker index's string; -1 when out of memory. */
static int64_t intern(Interner *in, Py_ssize_t index, Py_ssize_t count) {
    if (in->last >= 0 && same_string(in, in->firsts[in->last], index)) {
        return in->last;
    }
    if (in->slots == NULL && in->codes > 0) {
        uint64_t size = 16;
        while (size < 2 * (uint64_t)count) size <<= 1;
        in->slots = calloc(size, sizeof(int64_t));
        if (in->slots == NULL) return -1;
        in->mask = size - 1;
        for (int64_t code = 0; code < in->codes; ++code) place_code(in, code);
    }
    if (in->slots != NULL) {
        uint64_t slot = string_hash(in->body + in->starts[index], in->lengths[index]) & in->mask;
        while (in->slots[slot] != 0) {
            const int64_t code = in->slots[slot] - 1;
            if (same_string(in, in->firsts[code], index)) return in->last = code;
            slot = (slot + 1) & in->mask;
        }
    }
    const int64_t code = in->codes++;
    in->firsts[code] = index;
    if (in->slots != NULL) place_code(in, code);
    return in->last = code;
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

/* Whether the strings of the marker at index other than its frame and namespace (checked once per
 * distinct string) are UTF-8: those the marker-by-marker reader decodes. */
static int other_strings_utf8(const unsigned char *body, const int64_t *columns, Py_ssize_t count,
                              Py_ssize_t index) {
    static const int strings[][2] = {
        {TEXTURE_RESOURCE, TEXTURE_RESOURCE_LENGTH}, {TEXTURE_FRAME, TEXTURE_FRAME_LENGTH},
        {TEXTURE_FORMAT, TEXTURE_FORMAT_LENGTH},     {TEXT, TEXT_LENGTH},
        {MESH_RESOURCE, MESH_RESOURCE_LENGTH},       {MESH_FILE, MESH_FILE_LENGTH},
    };
    for (size_t string = 0; string < sizeof strings / sizeof strings[0]; ++string) {
        const int64_t length = columns[strings[string][1] * count + index] - 1;
        if (length > 0 && !is_utf8(body + columns[strings[string][0] * count + index], length)) return 0;
    }
    return 1;
}

/* The code of the marker's string in the interner, -1 when it is not UTF-8, -2 out of memory. */
static int64_t coded(Interner *in, Py_ssize_t index, Py_ssize_t count) {
    const int64_t codes = in->codes;
    const int64_t code = intern(in, index, count);
    if (code < 0) return -2;
    if (in->codes > codes && !is_utf8(in->body + in->starts[index], in->lengths[index] - 1)) return -1;
    return code;
}

static PyObject *index_list(const int64_t *values, int64_t count) {
    PyObject *list = PyList_New(count);
    for (int64_t at = 0; list != NULL && at < count; ++at) {
        PyObject *value = PyLong_FromLongLong(values[at]);
        if (value == NULL) {
            Py_CLEAR(list);
        } else {
            PyList_SET_ITEM(list, at, value);
        }
    }
    return list;
}

/*
 * walk_markers(body, count, max_sequence, table, values) -> (frame_firsts, ns_firsts) | None
 *
 * body: a MarkerArray's CDR after its encapsulation header, the marker count at 0 and the first marker at
 * 4. table: a writable int64 buffer of COLUMNS x count, column-major (one column per field, markers in
 * order); values: a writable float64 buffer of count x VALUES, row-major (a marker's pose, scale and
 * colour). Returns, for the distinct header frames and namespaces in the order of their codes, the index
 * of the first marker with each; None when a marker does not fit or one of its strings is not UTF-8 (the
 * caller reads the array marker by marker, which says why); the buffers are then partly written.
 */
static PyObject *walk_markers(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer body, table, values;
    Py_ssize_t count, max_sequence;
    if (!PyArg_ParseTuple(args, "y*nnw*w*", &body, &count, &max_sequence, &table, &values)) {
        return NULL;
    }
    PyObject *result = NULL;
    int64_t *firsts = NULL;
    if (count < 0 || max_sequence < 0) {
        PyErr_SetString(PyExc_ValueError, "negative count");
    } else if (table.len < (Py_ssize_t)(count * COLUMNS * sizeof(int64_t))) {
        PyErr_SetString(PyExc_ValueError, "the table is smaller than count x the fields");
    } else if (values.len < (Py_ssize_t)(count * VALUES * sizeof(double))) {
        PyErr_SetString(PyExc_ValueError, "the values are smaller than count x the numbers");
    } else if ((firsts = malloc(2 * (size_t)(count + 1) * sizeof(int64_t))) == NULL) {
        PyErr_NoMemory();
    } else {
        const Walk walk = {(const unsigned char *)body.buf, (int64_t)body.len, (int64_t)max_sequence};
        int64_t *columns = (int64_t *)table.buf;
        double *numbers = (double *)values.buf;
        Interner frames = {walk.body, columns + FRAME * count, columns + FRAME_LENGTH * count, firsts, 0,
                           NULL, 0, -1};
        Interner namespaces = {walk.body, columns + NS * count, columns + NS_LENGTH * count,
                               firsts + count + 1, 0, NULL, 0, -1};
        int outcome = 1; /* 1: read, 0: does not fit or not UTF-8, -1: out of memory */
        int64_t pos = 4;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t index = 0; index < count; ++index) {
            if (!walk_marker(&walk, pos, columns + index, count, numbers + index * VALUES) ||
                !other_strings_utf8(walk.body, columns, count, index)) {
                outcome = 0;
                break;
            }
            const int64_t frame = coded(&frames, index, count), ns = coded(&namespaces, index, count);
            if (frame < 0 || ns < 0) {
                outcome = (frame == -2 || ns == -2) ? -1 : 0;
                break;
            }
            columns[FRAME_CODE * count + index] = frame;
            columns[NS_CODE * count + index] = ns;
            pos = columns[NEXT * count + index];
        }
        Py_END_ALLOW_THREADS
        free(frames.slots);
        free(namespaces.slots);
        if (outcome < 0) {
            PyErr_NoMemory();
        } else if (outcome == 0) {
            result = Py_NewRef(Py_None);
        } else {
            PyObject *frame_firsts = index_list(frames.firsts, frames.codes);
            PyObject *ns_firsts = frame_firsts ? index_list(namespaces.firsts, namespaces.codes) : NULL;
            if (ns_firsts != NULL) result = PyTuple_Pack(2, frame_firsts, ns_firsts);
            Py_XDECREF(frame_firsts);
            Py_XDECREF(ns_firsts);
        }
    }
    free(firsts);
    release(&body, &table, &values, NULL);
    return result;
}

/*
 * The shapes of many markers of one namespace and type (convert/marker_columns.py): the same arithmetic,
 * in the same order, as its numpy code and marker_shapes.py, so that rows are equal number for number.
 * Each takes the markers' VALUES rows (pose, scale, colour) as the walk wrote them.
 */

static inline uint8_t rgba8(double channel) {
    if (!(channel > 0.0)) return 0; /* NaN too */
    return (uint8_t)((channel < 1.0 ? channel : 1.0) * 255.0 + 0.5);
}

/* Whether a buffer holds at least items of size bytes (and a readable count of them). */
static int holds(const Py_buffer *buffer, Py_ssize_t items, Py_ssize_t size, const char *what) {
    if (items < 0 || buffer->len / size < items) {
        PyErr_Format(PyExc_ValueError, "%s holds fewer than %zd items", what, items);
        return 0;
    }
    return 1;
}

/* A marker's unit quaternion (x, y, z, w; the identity for a norm under 1e-9, as RViz takes an all-zero
 * one) and its rotation, row-major, from its VALUES row, as marker_shapes computes them. */
static void pose_of(const double *row, double q[4], double r[9]) {
    const double norm = sqrt(row[3] * row[3] + row[4] * row[4] + row[5] * row[5] + row[6] * row[6]);
    if (norm < 1e-9) {
        q[0] = q[1] = q[2] = 0.0, q[3] = 1.0;
    } else {
        for (int axis = 0; axis < 4; ++axis) q[axis] = row[3 + axis] / norm;
    }
    const double x = q[0], y = q[1], z = q[2], w = q[3];
    r[0] = 1 - 2 * (y * y + z * z), r[1] = 2 * (x * y - z * w), r[2] = 2 * (x * z + y * w);
    r[3] = 2 * (x * y + z * w), r[4] = 1 - 2 * (x * x + z * z), r[5] = 2 * (y * z - x * w);
    r[6] = 2 * (x * z - y * w), r[7] = 2 * (y * z + x * w), r[8] = 1 - 2 * (x * x + y * y);
}

/*
 * marker_poses(values, quaternions, rotations, colors) -> None
 *
 * For each marker (a row of VALUES float64): its unit quaternion (x, y, z, w; the identity for one of
 * norm under 1e-9, as RViz takes an all-zero one) into quaternions (N x 4 float64), its rotation matrix
 * row-major into rotations (N x 9 float64), its colour as RGBA8 into colors (N x 4 bytes).
 */
static PyObject *marker_poses(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer values, quaternions, rotations, colors;
    if (!PyArg_ParseTuple(args, "y*w*w*w*", &values, &quaternions, &rotations, &colors)) {
        return NULL;
    }
    const Py_ssize_t count = values.len / (Py_ssize_t)(VALUES * sizeof(double));
    PyObject *result = NULL;
    if (holds(&quaternions, count * 4, sizeof(double), "quaternions") &&
        holds(&rotations, count * 9, sizeof(double), "rotations") && holds(&colors, count * 4, 1, "colors")) {
        const double *rows = values.buf;
        double *unit = quaternions.buf, *rotation = rotations.buf;
        uint8_t *rgba = colors.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t index = 0; index < count; ++index) {
            const double *row = rows + index * VALUES;
            pose_of(row, unit + index * 4, rotation + index * 9);
            for (int channel = 0; channel < COLOR_VALUES; ++channel) {
                rgba[index * 4 + channel] = rgba8(row[POSE_VALUES + channel]);
            }
        }
        Py_END_ALLOW_THREADS
        result = Py_NewRef(Py_None);
    }
    release(&values, &quaternions, &rotations, &colors, NULL);
    return result;
}

/* Whether marker index's records (count of size bytes from offset) lie inside a body of size bytes. */
static int records_inside(const int64_t *offsets, const int64_t *counts, Py_ssize_t index, int64_t size,
                          int64_t body_size) {
    const int64_t offset = offsets[index], count = counts[index];
    return offset >= 0 && count >= 0 && count <= body_size / size && offset <= body_size - count * size;
}

/*
 * place_points(body, offsets, counts, values, rotations, scaled, out) -> bool
 *
 * Every point of the markers (geometry_msgs/Point records, counts[i] of them at offsets[i] in body)
 * placed by its marker's pose: rotation @ (point, times the marker's scale when scaled) + translation,
 * summed left to right as marker_shapes.transform does, as float32 into out (points x 3). False (out
 * partly written) when a point is not finite.
 */
static PyObject *place_points(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer body, offsets, counts, values, rotations, out;
    int scaled;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*pw*", &body, &offsets, &counts, &values, &rotations, &scaled,
                          &out)) {
        return NULL;
    }
    const Py_ssize_t markers = offsets.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *at = offsets.buf, *number = counts.buf;
    PyObject *result = NULL;
    int64_t points = 0;
    int inside = holds(&counts, markers, sizeof(int64_t), "counts") &&
                 holds(&values, markers * VALUES, sizeof(double), "values") &&
                 holds(&rotations, markers * 9, sizeof(double), "rotations");
    for (Py_ssize_t index = 0; inside && index < markers; ++index) {
        inside = records_inside(at, number, index, POINT_BYTES, body.len);
        points += inside ? number[index] : 0;
    }
    if (inside && !holds(&out, points * 3, sizeof(float), "out")) {
        inside = 0;
    } else if (!inside && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "a marker's points lie outside the body");
    }
    if (inside) {
        const unsigned char *bytes = body.buf;
        const double *rows = values.buf, *matrices = rotations.buf;
        float *placed = out.buf;
        int finite = 1;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t index = 0; finite && index < markers; ++index) {
            const double *row = rows + index * VALUES, *r = matrices + index * 9;
            for (int64_t point = 0; point < number[index]; ++point) {
                double p[3];
                memcpy(p, bytes + at[index] + point * POINT_BYTES, sizeof p);
                if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) {
                    finite = 0;
                    break;
                }
                if (scaled) {
                    p[0] *= row[7], p[1] *= row[8], p[2] *= row[9];
                }
                for (int axis = 0; axis < 3; ++axis) {
                    placed[axis] = (float)(p[0] * r[axis * 3] + p[1] * r[axis * 3 + 1] + p[2] * r[axis * 3 + 2] +
                                           row[axis]);
                }
                placed += 3;
            }
        }
        Py_END_ALLOW_THREADS
        result = PyBool_FromLong(finite);
    }
    release(&body, &offsets, &counts, &values, &rotations, &out, NULL);
    return result;
}

/*
 * point_colors(body, counts, color_offsets, color_counts, colors, out) -> None
 *
 * One RGBA8 colour per point of the markers (counts[i] points each): the marker's per-point colours
 * (std_msgs/ColorRGBA records at color_offsets[i]) where it has any, which must then be one per point,
 * else its own colour (colors, N x 4 bytes), into out (points x 4 bytes).
 */
static PyObject *point_colors(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer body, counts, offsets, color_counts, colors, out;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*w*", &body, &counts, &offsets, &color_counts, &colors, &out)) {
        return NULL;
    }
    const Py_ssize_t markers = counts.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *number = counts.buf, *at = offsets.buf, *given = color_counts.buf;
    PyObject *result = NULL;
    int64_t points = 0;
    int valid = holds(&offsets, markers, sizeof(int64_t), "color_offsets") &&
                holds(&color_counts, markers, sizeof(int64_t), "color_counts") &&
                holds(&colors, markers * 4, 1, "colors");
    for (Py_ssize_t index = 0; valid && index < markers; ++index) {
        valid = number[index] >= 0 && (given[index] == 0 || (given[index] == number[index] &&
                                                             records_inside(at, given, index, COLOR_BYTES, body.len)));
        points += valid ? number[index] : 0;
    }
    if (valid && !holds(&out, points * 4, 1, "out")) {
        valid = 0;
    } else if (!valid && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "a marker's colours do not match its points or lie outside the body");
    }
    if (valid) {
        const unsigned char *bytes = body.buf, *own = colors.buf;
        uint8_t *rgba = out.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t index = 0; index < markers; ++index) {
            for (int64_t point = 0; point < number[index]; ++point) {
                if (given[index] == 0) {
                    memcpy(rgba, own + index * 4, 4);
                } else {
                    float channels[4];
                    memcpy(channels, bytes + at[index] + point * COLOR_BYTES, sizeof channels);
                    for (int channel = 0; channel < 4; ++channel) rgba[channel] = rgba8(channels[channel]);
                }
                rgba += 4;
            }
        }
        Py_END_ALLOW_THREADS
        result = Py_NewRef(Py_None);
    }
    release(&body, &counts, &offsets, &color_counts, &colors, &out, NULL);
    return result;
}

/* visualization_msgs/Marker types (marker_shapes.py). */
enum {
    TYPE_ARROW, TYPE_LINE_STRIP = 4, TYPE_LINE_LIST, TYPE_CUBE_LIST, TYPE_SPHERE_LIST, TYPE_POINTS,
    TYPE_TRIANGLE_LIST = 11, TYPES = 12
};

/* Whether a marker type's shape reads all of its points (and per-point colours). */
static inline int reads_points(int64_t type) {
    return type == TYPE_LINE_STRIP || type == TYPE_LINE_LIST || type == TYPE_CUBE_LIST ||
           type == TYPE_SPHERE_LIST || type == TYPE_POINTS || type == TYPE_TRIANGLE_LIST;
}

/* Whether a marker would fail to convert (marker_columns.has_bad_markers says which checks). */
static int bad_marker(const unsigned char *body, int64_t body_size, int64_t type, const double *row,
                      const int64_t *offsets, const int64_t *points, const int64_t *colors, Py_ssize_t index) {
    if (type < 0 || type >= TYPES) return 1;
    for (int value = 0; value < POSE_VALUES; ++value) {
        if (!isfinite(row[value])) return 1;
    }
    const int64_t count = points[index];
    if (type == TYPE_ARROW && count == 1) return 1;
    if (type == TYPE_ARROW && count >= 2) {
        if (!records_inside(offsets, points, index, POINT_BYTES, body_size)) return 1;
        double ends[6];
        memcpy(ends, body + offsets[index], sizeof ends);
        for (int value = 0; value < 6; ++value) {
            if (!isfinite(ends[value])) return 1;
        }
    }
    if (reads_points(type) && colors[index] != 0 && colors[index] != count) return 1;
    return (type == TYPE_LINE_LIST && count % 2 == 1) || (type == TYPE_TRIANGLE_LIST && count % 3 != 0);
}

/*
 * bad_markers(body, indices, types, values, point_offsets, point_counts, color_counts) -> bool
 *
 * Whether any marker at indices (into the columns: types, VALUES rows, where its points lie and how many
 * points and colours it has) would fail to convert: an unknown type, a pose or scale that is not finite,
 * an arrow of one point or with a point that is not finite, colours that do not match the points, an odd
 * LINE_LIST, a TRIANGLE_LIST not in threes.
 */
static PyObject *bad_markers(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer body, indices, types, values, offsets, points, colors;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*", &body, &indices, &types, &values, &offsets, &points, &colors)) {
        return NULL;
    }
    const Py_ssize_t markers = types.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t chosen = indices.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *at = indices.buf, *kinds = types.buf;
    PyObject *result = NULL;
    int valid = holds(&values, markers * VALUES, sizeof(double), "values") &&
                holds(&offsets, markers, sizeof(int64_t), "point_offsets") &&
                holds(&points, markers, sizeof(int64_t), "point_counts") &&
                holds(&colors, markers, sizeof(int64_t), "color_counts");
    for (Py_ssize_t index = 0; valid && index < chosen; ++index) {
        valid = at[index] >= 0 && at[index] < markers;
    }
    if (!valid && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "an index is outside the columns");
    }
    if (valid) {
        int bad = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t index = 0; !bad && index < chosen; ++index) {
            const Py_ssize_t marker = at[index];
            bad = bad_marker(body.buf, body.len, kinds[marker], (const double *)values.buf + marker * VALUES,
                             offsets.buf, points.buf, colors.buf, marker);
        }
        Py_END_ALLOW_THREADS
        result = PyBool_FromLong(bad);
    }
    release(&body, &indices, &types, &values, &offsets, &points, &colors, NULL);
    return result;
}

/*
 * texts(body, offsets, lengths, indices) -> list[str]
 *
 * The strings (characters at offsets, lengths with their NUL) of the markers at indices, decoded as UTF-8
 * (the walk checked them).
 */
static PyObject *texts(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer body, offsets, lengths, indices;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &body, &offsets, &lengths, &indices)) {
        return NULL;
    }
    const Py_ssize_t markers = offsets.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t chosen = indices.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *start = offsets.buf, *length = lengths.buf, *at = indices.buf;
    PyObject *list = NULL;
    if (holds(&lengths, markers, sizeof(int64_t), "lengths")) {
        list = PyList_New(chosen);
    }
    for (Py_ssize_t index = 0; list != NULL && index < chosen; ++index) {
        const int64_t marker = at[index];
        if (marker < 0 || marker >= markers || start[marker] < 0 || length[marker] < 1 ||
            start[marker] > body.len - length[marker] + 1) {
            PyErr_SetString(PyExc_ValueError, "a string lies outside the body");
            Py_CLEAR(list);
            break;
        }
        PyObject *text = PyUnicode_DecodeUTF8((const char *)body.buf + start[marker], length[marker] - 1, "strict");
        if (text == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, index, text);
    }
    release(&body, &offsets, &lengths, &indices, NULL);
    return list;
}

/* The pose types and the rest of the marker types (marker_shapes.py). */
enum { TYPE_CUBE = 1, TYPE_SPHERE, TYPE_CYLINDER, TYPE_TEXT = 9 };

/* The outputs of group_instances, each advanced as instances are written. */
typedef struct {
    float *positions, *extents, *quaternions, *radii;
    uint8_t *colors;
} Instances;

/* Point at index of a marker (records at offset) placed by its pose, as place_points places it; 0 when
 * not finite. */
static int placed_point(const unsigned char *body, int64_t offset, int64_t index, const double *row,
                        const double *r, int scaled, float out[3]) {
    double p[3];
    memcpy(p, body + offset + index * POINT_BYTES, sizeof p);
    if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) return 0;
    if (scaled) {
        p[0] *= row[7], p[1] *= row[8], p[2] *= row[9];
    }
    for (int axis = 0; axis < 3; ++axis) {
        out[axis] = (float)(p[0] * r[axis * 3] + p[1] * r[axis * 3 + 1] + p[2] * r[axis * 3 + 2] + row[axis]);
    }
    return 1;
}

/* The colour of point index of a marker: its own per-point colour where it has them, else its colour. */
static void point_color(const unsigned char *body, int64_t color_offset, int64_t colors, int64_t index,
                        const uint8_t own[4], uint8_t out[4]) {
    if (colors == 0) {
        memcpy(out, own, 4);
        return;
    }
    float channels[4];
    memcpy(channels, body + color_offset + index * COLOR_BYTES, sizeof channels);
    for (int channel = 0; channel < 4; ++channel) out[channel] = rgba8(channels[channel]);
}

/* The instances one marker adds to its group's shape (marker_columns.py's shapes, number for number);
 * 0 when one of its points is not finite. */
static int marker_instances(int64_t kind, const unsigned char *body, const double *row, int64_t point_offset,
                            int64_t points, int64_t color_offset, int64_t colors, Instances *out) {
    double q[4], r[9];
    pose_of(row, q, r);
    uint8_t own[4];
    for (int channel = 0; channel < 4; ++channel) own[channel] = rgba8(row[POSE_VALUES + channel]);
    const int scaled = kind == TYPE_TRIANGLE_LIST;
    float first[3];
    /* The points of a type that reads them are all checked, also those its shape leaves out (a
     * LINE_STRIP of one point: checked here); the others as they are placed below. The pose types
     * ignore theirs. */
    for (int64_t point = 0; kind == TYPE_LINE_STRIP && points < 2 && point < points; ++point) {
        if (!placed_point(body, point_offset, point, row, r, scaled, first)) return 0;
    }
    switch (kind) {
    case TYPE_CUBE:
    case TYPE_SPHERE:
    case TYPE_CYLINDER:
    case TYPE_TEXT:
    case TYPE_ARROW:
        for (int axis = 0; axis < 3; ++axis) *out->positions++ = (float)row[axis];
        if (kind == TYPE_CUBE || kind == TYPE_SPHERE) {
            for (int axis = 0; axis < 3; ++axis) *out->extents++ = (float)(row[7 + axis] / 2.0);
        } else if (kind == TYPE_CYLINDER) {
            *out->extents++ = (float)row[9];
            *out->radii++ = (float)((row[7] >= row[8] ? row[7] : row[8]) / 2.0);
        } else if (kind == TYPE_TEXT) {
            *out->radii++ = (float)(row[9] / 10.0);
        } else { /* by pose: length scale.x along the x axis */
            for (int axis = 0; axis < 3; ++axis) *out->extents++ = (float)(r[axis * 3] * row[7]);
            *out->radii++ = (float)(row[8] / 2.0);
        }
        if (kind != TYPE_TEXT && kind != TYPE_ARROW) {
            for (int axis = 0; axis < 4; ++axis) *out->quaternions++ = (float)q[axis];
        }
        memcpy(out->colors, own, 4), out->colors += 4;
        return 1;
    case TYPE_LINE_STRIP:
        if (points < 2) return 1; /* draws nothing */
        *out->radii++ = (float)(row[7] / 2.0);
        memcpy(out->colors, own, 4), out->colors += 4;
        break;
    case TYPE_LINE_LIST:
        for (int64_t pair = 0; pair < points / 2; ++pair) {
            *out->radii++ = (float)(row[7] / 2.0);
            point_color(body, color_offset, colors, 2 * pair, own, out->colors), out->colors += 4;
        }
        break;
    default:
        break;
    }
    for (int64_t point = 0; point < points; ++point) {
        /* Not finite: nothing written is to be trusted (the caller's contract), so stop here. */
        if (!placed_point(body, point_offset, point, row, r, scaled, out->positions)) return 0;
        out->positions += 3;
        if (kind == TYPE_CUBE_LIST || kind == TYPE_SPHERE_LIST) {
            for (int axis = 0; axis < 3; ++axis) *out->extents++ = (float)(row[7 + axis] / 2.0);
            for (int axis = 0; axis < 4; ++axis) *out->quaternions++ = (float)q[axis];
        } else if (kind == TYPE_POINTS) {
            *out->radii++ = (float)(row[7] / 2.0);
        }
        if (kind != TYPE_LINE_STRIP && kind != TYPE_LINE_LIST) {
            point_color(body, color_offset, colors, point, own, out->colors), out->colors += 4;
        }
    }
    return 1;
}

/* A group's markers are spread over the whole payload (every eighth marker, say), so each one's values
 * row and points are a cache miss: they are asked for this many markers ahead (measured: two thirds of
 * the time went to the first read of a marker's points). */
enum { PREFETCH_MARKERS = 8 };

typedef struct {
    const unsigned char *body;
    const double *rows;
    const int64_t *point_at, *count, *color_at, *given;
} Ahead;

static inline void prefetch_marker(const Ahead *ahead, int64_t marker) {
    const double *row = ahead->rows + marker * VALUES;
    __builtin_prefetch(row);
    __builtin_prefetch(row + VALUES - 1);
    if (ahead->count[marker] > 0) {
        const unsigned char *points = ahead->body + ahead->point_at[marker];
        __builtin_prefetch(points);
        __builtin_prefetch(points + 64);
    }
    if (ahead->given[marker] > 0) __builtin_prefetch(ahead->body + ahead->color_at[marker]);
}

/*
 * group_instances(kind, body, indices, values, point_offsets, point_counts, color_offsets, color_counts,
 *                 positions, extents, quaternions, radii, colors) -> int
 *
 * The instances of the markers at indices (all of type kind) as marker_columns.py's shapes make them,
 * written one marker after another into float32 positions (x, y, z), extents (half sizes, an arrow's
 * vector or a cylinder's length), quaternions (x, y, z, w), radii and RGBA8 colors, each as many as the
 * kind has (the caller sizes them; an unused one may be empty). Returns 1, 0 when a point is not finite
 * (nothing to trust in the outputs), or -1 for markers this cannot build (an arrow by points, line strips
 * with per-point colours, a mesh): marker_columns builds those.
 */
static PyObject *group_instances(PyObject *module, PyObject *args) {
    (void)module;
    long long kind;
    Py_buffer body, indices, values, offsets, points, color_offsets, colors_given;
    Py_buffer positions, extents, quaternions, radii, colors;
    if (!PyArg_ParseTuple(args, "Ly*y*y*y*y*y*y*w*w*w*w*w*", &kind, &body, &indices, &values, &offsets, &points,
                          &color_offsets, &colors_given, &positions, &extents, &quaternions, &radii, &colors)) {
        return NULL;
    }
    const Py_ssize_t markers = offsets.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t chosen = indices.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *at = indices.buf, *point_at = offsets.buf, *count = points.buf, *color_at = color_offsets.buf,
                  *given = colors_given.buf;
    int built = 1;
    int valid = holds(&values, markers * VALUES, sizeof(double), "values") &&
                holds(&points, markers, sizeof(int64_t), "point_counts") &&
                holds(&color_offsets, markers, sizeof(int64_t), "color_offsets") &&
                holds(&colors_given, markers, sizeof(int64_t), "color_counts");
    /* What the kind writes: instances per marker or per point, and which outputs. */
    int64_t per_marker = 0, per_point = 0, drawn_points = 0, pairs = 0;
    for (Py_ssize_t index = 0; valid && index < chosen; ++index) {
        const int64_t marker = at[index];
        valid = marker >= 0 && marker < markers && records_inside(point_at, count, marker, POINT_BYTES, body.len) &&
                (given[marker] == 0 ||
                 (given[marker] == count[marker] && records_inside(color_at, given, marker, COLOR_BYTES, body.len)));
        if (!valid) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a marker lies outside the body or columns");
            break;
        }
        per_marker += 1, per_point += count[marker], pairs += count[marker] / 2;
        drawn_points += count[marker] >= 2 ? count[marker] : 0;
        if ((kind == TYPE_ARROW && count[marker] != 0) || (kind == TYPE_LINE_STRIP && given[marker] != 0)) {
            built = -1;
        }
    }
    int64_t need_positions = 0, need_extents = 0, need_quaternions = 0, need_radii = 0, need_colors = 0;
    switch (kind) {
    case TYPE_CUBE:
    case TYPE_SPHERE:
        need_positions = need_extents = need_colors = 3 * per_marker, need_quaternions = 4 * per_marker;
        need_colors = 4 * per_marker;
        break;
    case TYPE_CYLINDER:
        need_positions = 3 * per_marker, need_extents = need_radii = per_marker;
        need_quaternions = need_colors = 4 * per_marker;
        break;
    case TYPE_ARROW:
        need_positions = need_extents = 3 * per_marker, need_radii = per_marker, need_colors = 4 * per_marker;
        break;
    case TYPE_TEXT:
        need_positions = 3 * per_marker, need_radii = per_marker, need_colors = 4 * per_marker;
        break;
    case TYPE_CUBE_LIST:
    case TYPE_SPHERE_LIST:
        need_positions = need_extents = 3 * per_point, need_quaternions = need_colors = 4 * per_point;
        break;
    case TYPE_POINTS:
        need_positions = 3 * per_point, need_radii = per_point, need_colors = 4 * per_point;
        break;
    case TYPE_TRIANGLE_LIST:
        need_positions = 3 * per_point, need_colors = 4 * per_point;
        break;
    case TYPE_LINE_LIST:
        need_positions = 3 * per_point, need_radii = pairs, need_colors = 4 * pairs;
        break;
    case TYPE_LINE_STRIP:
        need_positions = 3 * drawn_points;
        break;
    default:
        built = -1;
    }
    if (valid && built > 0 && kind == TYPE_LINE_STRIP) {
        int64_t strips = 0;
        for (Py_ssize_t index = 0; index < chosen; ++index) strips += count[at[index]] >= 2;
        need_radii = strips, need_colors = 4 * strips;
    }
    valid = valid && holds(&positions, need_positions, sizeof(float), "positions") &&
            holds(&extents, need_extents, sizeof(float), "extents") &&
            holds(&quaternions, need_quaternions, sizeof(float), "quaternions") &&
            holds(&radii, need_radii, sizeof(float), "radii") && holds(&colors, need_colors, 1, "colors");
    PyObject *result = NULL;
    if (valid) {
        if (built > 0) {
            Instances out = {positions.buf, extents.buf, quaternions.buf, radii.buf, colors.buf};
            const unsigned char *bytes = body.buf;
            const double *rows = values.buf;
            const Ahead ahead = {bytes, rows, point_at, count, color_at, given};
            Py_BEGIN_ALLOW_THREADS
            for (Py_ssize_t index = 0; built > 0 && index < chosen; ++index) {
                if (index + PREFETCH_MARKERS < chosen) prefetch_marker(&ahead, at[index + PREFETCH_MARKERS]);
                const int64_t marker = at[index];
                built = marker_instances(kind, bytes, rows + marker * VALUES, point_at[marker], count[marker],
                                         color_at[marker], given[marker], &out);
            }
            Py_END_ALLOW_THREADS
        }
        result = PyLong_FromLong(built);
    }
    release(&body, &indices, &values, &offsets, &points, &color_offsets, &colors_given, &positions, &extents,
            &quaternions, &radii, &colors, NULL);
    return result;
}

static PyMethodDef methods[] = {
    {"walk_markers", walk_markers, METH_VARARGS, "Where each marker's fields lie; see the C source."},
    {"marker_poses", marker_poses, METH_VARARGS, "Markers' unit quaternions, rotations and colours."},
    {"place_points", place_points, METH_VARARGS, "Markers' points placed by their poses."},
    {"point_colors", point_colors, METH_VARARGS, "Markers' colours, one per point."},
    {"bad_markers", bad_markers, METH_VARARGS, "Whether any of the markers would fail to convert."},
    {"texts", texts, METH_VARARGS, "Markers' strings, decoded."},
    {"group_instances", group_instances, METH_VARARGS, "The instances of a group of markers' shape."},
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
#define API_VERSION 2

PyMODINIT_FUNC PyInit__marker_walk(void) {
    PyObject *module = PyModule_Create(&module_definition);
    if (module != NULL && PyModule_AddIntConstant(module, "API_VERSION", API_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
