/*
 * mice.analysis._hsscan: the lines of a batch each Hyperscan pattern may
 * match, with the reports gathered in C.  The python-hyperscan package
 * calls a Python function for every report (a million and a half for a
 * million lines of mice analyze); here the callback is C and the GIL is
 * released for the scan.  mice.analysis.aaregex.HyperscanPatterns.linesOf
 * does the same in Python, which this must match exactly (the tests
 * compare them); it is used when this module is not built.
 *
 * The python-hyperscan wheel links its own Hyperscan with hidden symbols,
 * so its databases cannot be scanned here: this module compiles its own
 * with the system's libhs (Debian's libhyperscan-dev), from the same
 * expressions, flags and ids.
 *
 * Database(expressions, flags, ids): a block-mode database.
 *   expressions: a list of bytes, flags and ids lists of ints (as
 *   hs_compile_multi takes them).  ValueError names the expression
 *   Hyperscan refuses, with its message.
 *
 * Database.lines(data, ends=None) -> {line: frozenset(ids)}
 *   data: the batch's bytes (lines joined by newlines); ends: the offset
 *   just past each line's newline (the last line's as if it had one);
 *   None (the default): those of data's newlines, found here.  Each line
 *   is scanned on its own (what a scan of the whole batch with ^ and $ at
 *   its newlines finds, for patterns that hold no newline, and faster),
 *   and each some pattern was reported in comes with the ids reported
 *   there.
 *
 * Database.groups(data, ends=None) -> {frozenset(ids): [line]}
 *   The same scan, every line of data (lines() keeps those with a report)
 *   grouped by the ids reported in it: under frozenset() the lines with
 *   none, in order.  The lines of a group are in order, and the groups
 *   share their frozensets, so a caller deals with each set of ids once
 *   (mice.analysis.logids: most lines of a batch are decided by the set).
 *
 * Database.serialize() -> bytes, deserialize(bytes) -> Database: for the
 * cache on disk (mice.analysis.hyperscancache); version() -> hs_version();
 * newlines(data) -> int: the newline bytes of a buffer, for joinsLines;
 * unusual(data) -> [int]: the lines of a batch holding a byte Hyperscan may
 * read otherwise than re (aaregex._unusualLines).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <hs.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What serialize() writes before Hyperscan's bytes (which Hyperscan
 * checks itself): this, the count of patterns (32-bit little-endian),
 * each pattern's id (likewise), then the FNV-1a hash of those bytes
 * (likewise), so a damaged id is refused, not scanned for. */
static const char MAGIC[8] = "MHSSCAN1";

typedef struct {
    PyObject_HEAD
    hs_database_t *database;
    /* The scratch of a scan; a scan begun while it is in use (another
     * thread, the GIL released) clones its own. */
    hs_scratch_t *scratch;
    int busy;
    /* Hyperscan's id of each pattern is its index here; ids[i] is the id
     * it was given, idObjects[i] the same as an int object. */
    Py_ssize_t count;
    unsigned int *ids;
    PyObject **idObjects;
} Database;

static PyTypeObject DatabaseType;

/* Raise for a failed hs_* call: MemoryError when Hyperscan ran out of
 * memory, else `type` with what failed and Hyperscan's error code. */
static PyObject *
hsError(hs_error_t err, PyObject *type, const char *what)
{
    if (err == HS_NOMEM)
        return PyErr_NoMemory();
    return PyErr_Format(type, "%s (error %d)", what, err);
}


/* A new Database owning database (freed here on failure), with count
 * patterns of the given ids. */
static PyObject *
newDatabase(hs_database_t *database, const unsigned int *ids, Py_ssize_t count)
{
    Database *self = (Database *)DatabaseType.tp_alloc(&DatabaseType, 0);
    if (self == NULL) {
        hs_free_database(database);
        return NULL;
    }
    /* tp_alloc zeroes the rest: dealloc frees what is set. */
    self->database = database;
    self->count = count;
    self->ids = PyMem_Malloc(sizeof(unsigned int) * (count ? count : 1));
    self->idObjects = PyMem_Calloc(count ? count : 1, sizeof(PyObject *));
    if (self->ids == NULL || self->idObjects == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        self->ids[i] = ids[i];
        self->idObjects[i] = PyLong_FromUnsignedLong(ids[i]);
        if (self->idObjects[i] == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    hs_error_t err = hs_alloc_scratch(database, &self->scratch);
    if (err != HS_SUCCESS) {
        Py_DECREF(self);
        return hsError(err, PyExc_RuntimeError, "hs_alloc_scratch failed");
    }
    return (PyObject *)self;
}

static void
Database_dealloc(Database *self)
{
    if (self->scratch != NULL)
        hs_free_scratch(self->scratch);
    if (self->database != NULL)
        hs_free_database(self->database);
    if (self->idObjects != NULL) {
        for (Py_ssize_t i = 0; i < self->count; i++)
            Py_XDECREF(self->idObjects[i]);
        PyMem_Free(self->idObjects);
    }
    PyMem_Free(self->ids);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* An unsigned int of a Python int: what hs_compile_multi takes. */
static int
unsignedOf(PyObject *value, const char *what, Py_ssize_t index, unsigned int *out)
{
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s[%zd] must be an int, not %s", what, index,
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    unsigned long v = PyLong_AsUnsignedLong(value);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s[%zd] must be from 0 to %u", what, index, UINT_MAX);
        return -1;
    }
    if (v > UINT_MAX) {
        PyErr_Format(PyExc_ValueError, "%s[%zd] must be from 0 to %u", what, index, UINT_MAX);
        return -1;
    }
    *out = (unsigned int)v;
    return 0;
}

static PyObject *
Database_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"expressions", "flags", "ids", NULL};
    PyObject *expressionsGiven, *flagsGiven, *idsGiven;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO:Database", keywords, &expressionsGiven,
                                     &flagsGiven, &idsGiven))
        return NULL;
    /* Tuples of our own: the bytes stay alive, and the same, while the
     * compile runs without the GIL. */
    PyObject *expressions = PySequence_Tuple(expressionsGiven);
    PyObject *flags = expressions ? PySequence_Tuple(flagsGiven) : NULL;
    PyObject *ids = flags ? PySequence_Tuple(idsGiven) : NULL;
    PyObject *result = NULL;
    const char **texts = NULL;
    unsigned int *flagValues = NULL, *idValues = NULL, *order = NULL;
    if (ids == NULL)
        goto done;
    Py_ssize_t n = PyTuple_GET_SIZE(expressions);
    if (PyTuple_GET_SIZE(flags) != n || PyTuple_GET_SIZE(ids) != n) {
        PyErr_SetString(PyExc_ValueError, "expressions, flags and ids must be as long");
        goto done;
    }
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "no expressions");
        goto done;
    }
    if ((size_t)n > UINT_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many expressions");
        goto done;
    }
    texts = PyMem_Malloc(sizeof(char *) * n);
    flagValues = PyMem_Malloc(sizeof(unsigned int) * n);
    idValues = PyMem_Malloc(sizeof(unsigned int) * n);
    order = PyMem_Malloc(sizeof(unsigned int) * n);
    if (texts == NULL || flagValues == NULL || idValues == NULL || order == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *expression = PyTuple_GET_ITEM(expressions, i);
        if (!PyBytes_Check(expression)) {
            PyErr_Format(PyExc_TypeError, "expressions[%zd] must be bytes, not %s", i,
                         Py_TYPE(expression)->tp_name);
            goto done;
        }
        /* Hyperscan reads a C string: a NUL would cut it short. */
        if (memchr(PyBytes_AS_STRING(expression), 0, PyBytes_GET_SIZE(expression)) != NULL) {
            PyErr_Format(PyExc_ValueError, "expressions[%zd] holds a NUL byte", i);
            goto done;
        }
        texts[i] = PyBytes_AS_STRING(expression);
        if (unsignedOf(PyTuple_GET_ITEM(flags, i), "flags", i, &flagValues[i]) < 0
            || unsignedOf(PyTuple_GET_ITEM(ids, i), "ids", i, &idValues[i]) < 0)
            goto done;
        order[i] = (unsigned int)i;
    }
    hs_database_t *database = NULL;
    hs_compile_error_t *error = NULL;
    hs_error_t err;
    Py_BEGIN_ALLOW_THREADS
    err = hs_compile_multi(texts, flagValues, order, (unsigned int)n, HS_MODE_BLOCK, NULL,
                           &database, &error);
    Py_END_ALLOW_THREADS
    if (err != HS_SUCCESS) {
        if (error != NULL) {
            if (error->expression >= 0)
                PyErr_Format(PyExc_ValueError, "expression %d: %s", error->expression,
                             error->message);
            else
                PyErr_Format(PyExc_ValueError, "%s", error->message);
            hs_free_compile_error(error);
        } else {
            PyErr_Format(PyExc_ValueError, "hs_compile_multi failed (error %d)", err);
        }
        goto done;
    }
    result = newDatabase(database, idValues, n);

done:
    PyMem_Free(texts);
    PyMem_Free(flagValues);
    PyMem_Free(idValues);
    PyMem_Free(order);
    Py_XDECREF(expressions);
    Py_XDECREF(flags);
    Py_XDECREF(ids);
    (void)type;
    return result;
}

/* One report kept: a pattern (its index) in a line. */
typedef struct {
    Py_ssize_t line;
    unsigned int pattern;
} Report;

/* What the callback works with, the GIL released: no Python object. */
typedef struct {
    const Py_ssize_t *ends;
    Py_ssize_t lineCount;
    /* The line being scanned. */
    Py_ssize_t line;
    /* For each pattern, the line it was last kept for: a pattern reported
     * again in the same line is kept once. */
    Py_ssize_t *lastLine;
    unsigned int patternCount;
    Report *reports;
    Py_ssize_t size, allocated;
    /* Why the scan was stopped: 1 out of memory, 2 an unknown id. */
    int failed;
} Scan;

static int
onMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
        void *context)
{
    Scan *scan = context;
    (void)from;
    (void)to;
    (void)flags;
    if (id >= scan->patternCount) {
        scan->failed = 2;
        return 1;
    }
    if (scan->lastLine[id] == scan->line)
        return 0;
    scan->lastLine[id] = scan->line;
    if (scan->size == scan->allocated) {
        Py_ssize_t want = scan->allocated * 2;
        Report *grown = NULL;
        if ((size_t)want <= PY_SSIZE_T_MAX / sizeof(Report))
            grown = PyMem_RawRealloc(scan->reports, want * sizeof(Report));
        if (grown == NULL) {
            scan->failed = 1;
            return 1;
        }
        scan->reports = grown;
        scan->allocated = want;
    }
    scan->reports[scan->size].line = scan->line;
    scan->reports[scan->size].pattern = id;
    scan->size++;
    return 0;
}

/* The dict lines() returns, from the reports kept. */
static PyObject *
linesFound(Database *self, Scan *scan)
{
    PyObject *found = PyDict_New();
    if (found == NULL)
        return NULL;
    Py_ssize_t i = 0;
    while (i < scan->size) {
        Py_ssize_t line = scan->reports[i].line;
        PyObject *ids = PyFrozenSet_New(NULL);
        if (ids == NULL)
            goto failed;
        /* A brand new frozenset may be filled with PySet_Add. */
        for (; i < scan->size && scan->reports[i].line == line; i++) {
            if (PySet_Add(ids, self->idObjects[scan->reports[i].pattern]) < 0) {
                Py_DECREF(ids);
                goto failed;
            }
        }
        PyObject *key = PyLong_FromSsize_t(line);
        if (key == NULL) {
            Py_DECREF(ids);
            goto failed;
        }
        /* The reports of a line are together: its lines are scanned in turn. */
        int failed = PyDict_SetItem(found, key, ids) < 0;
        Py_DECREF(key);
        Py_DECREF(ids);
        if (failed)
            goto failed;
    }
    return found;

failed:
    Py_DECREF(found);
    return NULL;
}

/* Scan data (its lines' ends: endsGiven, or None for its newlines'),
 * the reports kept in scan (its ends, lineCount and reports); 0, or -1
 * with an exception set.  The caller frees scan with freeScan. */
static int
scanLines(Database *self, Py_buffer *given, PyObject *endsGiven, Scan *out)
{
    Py_buffer data = *given;
    int result = -1;
    Scan scan = {0};
    Py_ssize_t *ends = NULL;
    hs_scratch_t *scratch = NULL;
    int ownScratch = 0;
    PyObject *endsList = NULL;
    if ((size_t)data.len > UINT_MAX) {
        PyErr_SetString(PyExc_ValueError, "data of 4 GiB or more");
        goto done;
    }
    Py_ssize_t lineCount;
    if (endsGiven == Py_None) {
        /* The lines are data's, cut at its newlines: one more than those. */
        const char *bytes = data.buf, *end = bytes + data.len;
        lineCount = 1;
        for (const char *at = bytes; (at = memchr(at, '\n', end - at)) != NULL; at++)
            lineCount++;
    } else {
        endsList = PySequence_Fast(endsGiven, "ends must be a sequence of ints");
        if (endsList == NULL)
            goto done;
        lineCount = PySequence_Fast_GET_SIZE(endsList);
    }
    ends = PyMem_Malloc(sizeof(Py_ssize_t) * (lineCount ? lineCount : 1));
    scan.lastLine = PyMem_Malloc(sizeof(Py_ssize_t) * self->count);
    scan.allocated = 1024;
    scan.reports = PyMem_RawMalloc(sizeof(Report) * scan.allocated);
    if (ends == NULL || scan.lastLine == NULL || scan.reports == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (endsList == NULL) {
        /* Just past each newline, and past the end for the last line. */
        const char *bytes = data.buf, *end = bytes + data.len, *at = bytes;
        Py_ssize_t i = 0;
        for (; (at = memchr(at, '\n', end - at)) != NULL; at++)
            ends[i++] = at - bytes + 1;
        ends[i] = data.len + 1;
    }
    PyObject **items = endsList ? PySequence_Fast_ITEMS(endsList) : NULL;
    for (Py_ssize_t i = 0; endsList != NULL && i < lineCount; i++) {
        if (!PyLong_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "ends[%zd] must be an int, not %s", i,
                         Py_TYPE(items[i])->tp_name);
            goto done;
        }
        ends[i] = PyLong_AsSsize_t(items[i]);
        if (ends[i] == -1 && PyErr_Occurred())
            goto done;
    }
    /* The lines cover the data, each scanned to the byte before its end:
     * every end but the last just past a newline, the last just past the
     * data's end. */
    const char *bytes = data.buf;
    for (Py_ssize_t i = 0, previous = 0; i < lineCount; previous = ends[i], i++) {
        int ok = i + 1 < lineCount
                     ? ends[i] > previous && ends[i] <= data.len && bytes[ends[i] - 1] == '\n'
                     : ends[i] == data.len + 1;
        if (!ok) {
            PyErr_Format(PyExc_ValueError,
                         "ends[%zd] (%zd) is not just past a newline of the data (%zd bytes),"
                         " nor past its end for the last line",
                         i, ends[i], data.len);
            goto done;
        }
    }
    if (lineCount == 0) {
        PyErr_SetString(PyExc_ValueError, "ends must name at least one line");
        goto done;
    }
    for (Py_ssize_t i = 0; i < self->count; i++)
        scan.lastLine[i] = -1;
    scan.ends = ends;
    scan.lineCount = lineCount;
    scan.line = -1;
    scan.patternCount = (unsigned int)self->count;

    if (self->busy) {
        hs_error_t err = hs_clone_scratch(self->scratch, &scratch);
        if (err != HS_SUCCESS) {
            hsError(err, PyExc_RuntimeError, "hs_clone_scratch failed");
            goto done;
        }
        ownScratch = 1;
    } else {
        scratch = self->scratch;
        self->busy = 1;
    }
    hs_error_t err = HS_SUCCESS;
    /* One scan a line, [the end of the one before, its end - 1): not one
     * of the whole batch with ^ and $ at its newlines (HS_FLAG_MULTILINE),
     * which costs Hyperscan a third more on the rules' syslog headers,
     * and no report can then fall across two lines. */
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t begin = 0;
    for (Py_ssize_t i = 0; i < lineCount && err == HS_SUCCESS; i++) {
        Py_ssize_t stop = ends[i] - 1;
        scan.line = i;
        err = hs_scan(self->database, bytes + begin, (unsigned int)(stop - begin), 0, scratch,
                      onMatch, &scan);
        begin = ends[i];
    }
    Py_END_ALLOW_THREADS
    if (ownScratch)
        hs_free_scratch(scratch);
    else
        self->busy = 0;
    if (scan.failed == 1) {
        PyErr_NoMemory();
        goto done;
    }
    if (scan.failed == 2) {
        PyErr_SetString(PyExc_RuntimeError, "Hyperscan reported an id the database lacks");
        goto done;
    }
    if (err != HS_SUCCESS) {
        PyErr_Format(PyExc_RuntimeError, "hs_scan failed (error %d)", err);
        goto done;
    }
    result = 0;

done:
    PyMem_Free(scan.lastLine);
    scan.lastLine = NULL;
    Py_XDECREF(endsList);
    if (result < 0) {
        PyMem_RawFree(scan.reports);
        PyMem_Free(ends);
        return -1;
    }
    *out = scan;
    return 0;
}

static void
freeScan(Scan *scan)
{
    PyMem_RawFree(scan->reports);
    PyMem_Free((Py_ssize_t *)scan->ends);
}

/* A method's call: its arguments (data, ends=None; format names it), the
 * scan, and what build makes of the reports. */
static PyObject *
scanned(Database *self, PyObject *args, const char *format,
        PyObject *(*build)(Database *, Scan *))
{
    Py_buffer data;
    PyObject *endsGiven = Py_None;
    if (!PyArg_ParseTuple(args, format, &data, &endsGiven))
        return NULL;
    Scan scan;
    PyObject *result = NULL;
    if (scanLines(self, &data, endsGiven, &scan) == 0) {
        result = build(self, &scan);
        freeScan(&scan);
    }
    PyBuffer_Release(&data);
    return result;
}

static PyObject *
Database_lines(Database *self, PyObject *args)
{
    return scanned(self, args, "y*|O:lines", linesFound);
}

/* Append index to list; 0, or -1 with an exception set. */
static int
appendIndex(PyObject *list, Py_ssize_t index)
{
    PyObject *number = PyLong_FromSsize_t(index);
    if (number == NULL)
        return -1;
    int failed = PyList_Append(list, number);
    Py_DECREF(number);
    return failed;
}

/* The list of groups under key, made (empty) if it is not there yet; a
 * borrowed reference, or NULL with an exception set. */
static PyObject *
groupOf(PyObject *groups, PyObject *key)
{
    PyObject *list = PyDict_GetItemWithError(groups, key);
    if (list != NULL || PyErr_Occurred())
        return list;
    list = PyList_New(0);
    if (list == NULL)
        return NULL;
    int failed = PyDict_SetItem(groups, key, list);
    Py_DECREF(list);
    return failed ? NULL : list;
}

/* The dict groups() returns: every line of the scan, under the frozenset
 * of the ids reported in it (frozenset() for a line with none).  A line
 * with one id, most of them, takes that id's frozenset, made once. */
static PyObject *
groupsFound(Database *self, Scan *scan)
{
    PyObject *groups = PyDict_New();
    PyObject **singles = PyMem_Calloc(self->count ? self->count : 1, sizeof(PyObject *));
    PyObject *empty = PyFrozenSet_New(NULL);
    PyObject *nothing = NULL;
    if (singles == NULL)
        PyErr_NoMemory();
    if (groups == NULL || singles == NULL || empty == NULL)
        goto failed;
    /* The reports come line by line (the lines are scanned in turn), each
     * pattern once a line. */
    nothing = groupOf(groups, empty);
    if (nothing == NULL)
        goto failed;
    Py_ssize_t next = 0;
    for (Py_ssize_t line = 0; line < scan->lineCount; line++) {
        if (next == scan->size || scan->reports[next].line != line) {
            if (appendIndex(nothing, line) < 0)
                goto failed;
            continue;
        }
        /* Whether the line's reports name one pattern. */
        Py_ssize_t stop = next + 1;
        while (stop < scan->size && scan->reports[stop].line == line)
            stop++;
        int one = stop == next + 1;
        PyObject *list;
        if (one) {
            unsigned int pattern = scan->reports[next].pattern;
            if (singles[pattern] == NULL) {
                PyObject *key = PyFrozenSet_New(NULL);
                if (key == NULL)
                    goto failed;
                singles[pattern] = key;
                if (PySet_Add(key, self->idObjects[pattern]) < 0)
                    goto failed;
            }
            list = groupOf(groups, singles[pattern]);
        } else {
            PyObject *key = PyFrozenSet_New(NULL);
            if (key == NULL)
                goto failed;
            for (Py_ssize_t i = next; i < stop; i++) {
                if (PySet_Add(key, self->idObjects[scan->reports[i].pattern]) < 0) {
                    Py_DECREF(key);
                    goto failed;
                }
            }
            list = groupOf(groups, key);
            Py_DECREF(key);
        }
        if (list == NULL || appendIndex(list, line) < 0)
            goto failed;
        next = stop;
    }
    if (PyList_GET_SIZE(nothing) == 0 && PyDict_DelItem(groups, empty) < 0)
        goto failed;
    goto done;

failed:
    Py_CLEAR(groups);
done:
    for (Py_ssize_t i = 0; singles != NULL && i < self->count; i++)
        Py_XDECREF(singles[i]);
    PyMem_Free(singles);
    Py_XDECREF(empty);
    return groups;
}

static PyObject *
Database_groups(Database *self, PyObject *args)
{
    return scanned(self, args, "y*|O:groups", groupsFound);
}


static void
putUint32(char *out, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        out[i] = (char)(value >> (8 * i));
}

static uint32_t
getUint32(const char *in)
{
    uint32_t value = 0;
    for (int i = 0; i < 4; i++)
        value |= (uint32_t)(unsigned char)in[i] << (8 * i);
    return value;
}

static uint32_t
fnv1a(const char *data, size_t size)
{
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < size; i++) {
        hash ^= (unsigned char)data[i];
        hash *= 16777619u;
    }
    return hash;
}

static PyObject *
Database_serialize(Database *self, PyObject *unused)
{
    (void)unused;
    char *bytes = NULL;
    size_t length = 0;
    hs_error_t err = hs_serialize_database(self->database, &bytes, &length);
    if (err != HS_SUCCESS) {
        return hsError(err, PyExc_RuntimeError, "hs_serialize_database failed");
    }
    size_t head = sizeof(MAGIC) + 4 + 4 * (size_t)self->count + 4;
    PyObject *out = NULL;
    if (length <= PY_SSIZE_T_MAX - head)
        out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(head + length));
    else
        PyErr_NoMemory();
    if (out != NULL) {
        char *at = PyBytes_AS_STRING(out);
        memcpy(at, MAGIC, sizeof(MAGIC));
        putUint32(at + sizeof(MAGIC), (uint32_t)self->count);
        for (Py_ssize_t i = 0; i < self->count; i++)
            putUint32(at + sizeof(MAGIC) + 4 + 4 * i, self->ids[i]);
        putUint32(at + head - 4, fnv1a(at, head - 4));
        memcpy(at + head, bytes, length);
    }
    /* Hyperscan's misc allocator, malloc unless set otherwise. */
    free(bytes);
    return out;
}

static PyObject *
deserialize(PyObject *module, PyObject *args)
{
    Py_buffer data;
    (void)module;
    if (!PyArg_ParseTuple(args, "y*:deserialize", &data))
        return NULL;
    PyObject *result = NULL;
    unsigned int *ids = NULL;
    const char *at = data.buf;
    size_t head = sizeof(MAGIC) + 4;
    if ((size_t)data.len < head || memcmp(at, MAGIC, sizeof(MAGIC)) != 0) {
        PyErr_SetString(PyExc_ValueError, "not a serialized mice.analysis._hsscan database");
        goto done;
    }
    uint32_t count = getUint32(at + sizeof(MAGIC));
    if (count == 0 || ((size_t)data.len - head) / 4 < (size_t)count + 1) {
        PyErr_SetString(PyExc_ValueError, "a serialized database cut short");
        goto done;
    }
    ids = PyMem_Malloc(sizeof(unsigned int) * count);
    if (ids == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (uint32_t i = 0; i < count; i++)
        ids[i] = getUint32(at + head + 4 * (size_t)i);
    head += 4 * (size_t)count;
    if (getUint32(at + head) != fnv1a(at, head)) {
        PyErr_SetString(PyExc_ValueError, "a damaged serialized database");
        goto done;
    }
    head += 4;
    hs_database_t *database = NULL;
    /* Hyperscan checks its version, the platform and a checksum. */
    hs_error_t err = hs_deserialize_database(at + head, (size_t)data.len - head, &database);
    if (err != HS_SUCCESS) {
        hsError(err, PyExc_ValueError, "Hyperscan cannot load this database");
        goto done;
    }
    result = newDatabase(database, ids, count);

done:
    PyMem_Free(ids);
    PyBuffer_Release(&data);
    return result;
}

/* newlines(data) -> int: how many newline bytes data holds (memchr: a
 * batch's count costs a tenth of what str.count("\n") does). */
static PyObject *
newlines(PyObject *module, PyObject *given)
{
    (void)module;
    Py_buffer data;
    if (PyObject_GetBuffer(given, &data, PyBUF_SIMPLE) < 0)
        return NULL;
    const char *at = data.buf, *end = at + data.len;
    Py_ssize_t count = 0;
    while ((at = memchr(at, '\n', end - at)) != NULL) {
        count++;
        at++;
    }
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(count);
}

/* Whether a byte is one aaregex._HS_UNSURE matches: beyond ASCII, or one
 * of the separators 0x1c-0x1f that re counts as whitespace. */
static inline int
unsureByte(unsigned char c)
{
    return c >= 0x80 || (c >= 0x1c && c <= 0x1f);
}

/* unusual(data) -> [int]: the index of each line of data (lines joined
 * by newlines) holding a byte unsureByte takes, in order: a batch's
 * bytes read eight at a time, where str.isascii per line made a Python
 * set of them twice a batch (2 % of mice analyze). */
static PyObject *
unusual(PyObject *module, PyObject *given)
{
    (void)module;
    Py_buffer data;
    if (PyObject_GetBuffer(given, &data, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&data);
        return NULL;
    }
    const unsigned char *at = data.buf, *end = at + data.len;
    Py_ssize_t line = 0;
    while (at < end) {
        const unsigned char *stop = memchr(at, '\n', end - at);
        if (stop == NULL)
            stop = end;
        int found = 0;
        const unsigned char *p = at;
        /* Eight bytes at a time: a high bit is beyond ASCII; a byte
         * 0x1c-0x1f is (b & 0xfc) == 0x1c, tested only when some byte of
         * the word is below 0x20. */
        for (; !found && p + 8 <= stop; p += 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (w & 0x8080808080808080ULL)
                found = 1;
            else if ((w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL) {
                for (int i = 0; i < 8; i++)
                    if (unsureByte(p[i]))
                        found = 1;
            }
        }
        for (; !found && p < stop; p++)
            if (unsureByte(*p))
                found = 1;
        if (found) {
            PyObject *index = PyLong_FromSsize_t(line);
            if (index == NULL || PyList_Append(out, index) < 0) {
                Py_XDECREF(index);
                Py_DECREF(out);
                PyBuffer_Release(&data);
                return NULL;
            }
            Py_DECREF(index);
        }
        line++;
        at = stop + 1;
    }
    PyBuffer_Release(&data);
    return out;
}

static PyObject *
version(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyUnicode_FromString(hs_version());
}

static PyObject *
Database_getCount(Database *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->count);
}

static PyMethodDef DatabaseMethods[] = {
    {"lines", (PyCFunction)Database_lines, METH_VARARGS,
     "lines(data, ends=None) -> {line: frozenset(ids)}: the lines each pattern was reported in."},
    {"groups", (PyCFunction)Database_groups, METH_VARARGS,
     "groups(data, ends=None) -> {frozenset(ids): [line]}: every line, by the ids reported in it."},
    {"serialize", (PyCFunction)Database_serialize, METH_NOARGS,
     "serialize() -> bytes: the database, for deserialize()."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef DatabaseGetSet[] = {
    {"count", (getter)Database_getCount, NULL, "How many patterns the database holds.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DatabaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mice.analysis._hsscan.Database",
    .tp_basicsize = sizeof(Database),
    .tp_dealloc = (destructor)Database_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Database(expressions, flags, ids): a block-mode Hyperscan database.",
    .tp_methods = DatabaseMethods,
    .tp_getset = DatabaseGetSet,
    .tp_new = Database_new,
};

static PyMethodDef methods[] = {
    {"deserialize", deserialize, METH_VARARGS,
     "deserialize(data) -> Database: a database Database.serialize() gave."},
    {"version", version, METH_NOARGS, "version() -> str: libhs's hs_version()."},
    {"newlines", newlines, METH_O, "newlines(data) -> int: the newline bytes in data."},
    {"unusual", unusual, METH_O,
     "unusual(data) -> [int]: the lines of data holding a byte beyond ASCII or 0x1c-0x1f."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mice.analysis._hsscan",
    "Hyperscan scans with C callbacks (see mice.analysis.aaregex.HyperscanPatterns).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__hsscan(void)
{
    if (PyType_Ready(&DatabaseType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&DatabaseType);
    if (PyModule_AddObject(m, "Database", (PyObject *)&DatabaseType) < 0) {
        Py_DECREF(&DatabaseType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
