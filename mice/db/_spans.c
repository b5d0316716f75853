/*
 * mice.db._spans: the bytes of a c5 span (mice.db.signature.spanTag) and
 * the checks of its lines (mice.db.signature.spanText), in one pass over
 * the rows instead of a Python step per row.  mice.db.signature has the
 * same in Python (spanParts), which this must match byte for byte (the
 * tests compare them); it is used when this module is not built.
 *
 * spanBytes(rows) -> (data, checks)
 *
 *   rows: a list of tuples (seq, date, time, fields, line, ...), as
 *   mice.db.classify.classifyBatch gives them.
 *   data: the seqs (64-bit little-endian each), the UTF-8 byte length of
 *   each line (32-bit little-endian each), the lines' UTF-8 bytes (lone
 *   surrogates as 'surrogatepass' writes them) one after the other, then
 *   marshal version 2 of (dates, times, fields): a tuple of three lists.
 *   checks: the high 16 bits of the Adler-32 of each line's bytes, the
 *   low bytes of all, then the high bytes.
 *
 * Raises TypeError for a value marshal version 2 would not write the same
 * way here (anything but None, bool, int, str, tuple and list, or an int
 * beyond 64 bits): the caller then does it in Python.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t size;
    Py_ssize_t allocated;
} Buffer;

static int
reserve(Buffer *b, Py_ssize_t more)
{
    if (b->size + more <= b->allocated)
        return 0;
    Py_ssize_t want = b->allocated ? b->allocated : 4096;
    while (want < b->size + more)
        want *= 2;
    char *grown = PyMem_Realloc(b->data, want);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = grown;
    b->allocated = want;
    return 0;
}

static int
put(Buffer *b, const void *data, Py_ssize_t size)
{
    if (reserve(b, size) < 0)
        return -1;
    memcpy(b->data + b->size, data, size);
    b->size += size;
    return 0;
}

static int
putByte(Buffer *b, char c)
{
    return put(b, &c, 1);
}

/* value as width bytes, little-endian. */
static int
putLittle(Buffer *b, uint64_t value, int width)
{
    unsigned char bytes[8];
    for (int i = 0; i < width; i++)
        bytes[i] = (unsigned char)(value >> (8 * i));
    return put(b, bytes, width);
}

static int
putInt32(Buffer *b, int32_t value)
{
    return putLittle(b, (uint32_t)value, 4);
}

/* A text's UTF-8 bytes, lone surrogates as 'surrogatepass' writes them:
 * a pointer into the text itself for ASCII, else into *owner (a new
 * bytes object the caller releases). */
static const char *
utf8Of(PyObject *text, Py_ssize_t *size, PyObject **owner)
{
    *owner = NULL;
    if (PyUnicode_IS_ASCII(text)) {
        *size = PyUnicode_GET_LENGTH(text);
        return (const char *)PyUnicode_DATA(text);
    }
    *owner = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    if (*owner == NULL)
        return NULL;
    *size = PyBytes_GET_SIZE(*owner);
    return PyBytes_AS_STRING(*owner);
}

/* marshal version 2 of value: what mice.db.signature.encodeValues spells
 * out. */
static int
marshalValue(Buffer *b, PyObject *value, int depth)
{
    if (depth > 100) {
        PyErr_SetString(PyExc_TypeError, "values nested too deep");
        return -1;
    }
    if (value == Py_None)
        return putByte(b, 'N');
    if (value == Py_True)
        return putByte(b, 'T');
    if (value == Py_False)
        return putByte(b, 'F');
    if (PyLong_CheckExact(value)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow) {
            PyErr_SetString(PyExc_TypeError, "an int beyond 64 bits");
            return -1;
        }
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (v >= INT32_MIN && v <= INT32_MAX) {
            if (putByte(b, 'i') < 0)
                return -1;
            return putInt32(b, (int32_t)v);
        }
        /* 'l': the signed count of 15-bit digits, then the digits, 16-bit
         * little-endian each, least significant first. */
        unsigned long long rest = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        unsigned char digits[2 * 5];
        int32_t count = 0;
        while (rest) {
            unsigned int digit = (unsigned int)(rest & 0x7FFF);
            digits[2 * count] = (unsigned char)(digit & 0xFF);
            digits[2 * count + 1] = (unsigned char)(digit >> 8);
            count++;
            rest >>= 15;
        }
        if (putByte(b, 'l') < 0 || putInt32(b, v < 0 ? -count : count) < 0)
            return -1;
        return put(b, digits, 2 * count);
    }
    if (PyUnicode_CheckExact(value)) {
        Py_ssize_t size;
        PyObject *owner;
        const char *data = utf8Of(value, &size, &owner);
        if (data == NULL)
            return -1;
        int failed = size > INT32_MAX || putByte(b, 'u') < 0
                     || putInt32(b, (int32_t)size) < 0 || put(b, data, size) < 0;
        Py_XDECREF(owner);
        if (failed && !PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "a text of 2 GiB or more");
        return failed ? -1 : 0;
    }
    if (PyTuple_CheckExact(value) || PyList_CheckExact(value)) {
        int tuple = PyTuple_CheckExact(value);
        Py_ssize_t n = tuple ? PyTuple_GET_SIZE(value) : PyList_GET_SIZE(value);
        if (putByte(b, tuple ? '(' : '[') < 0 || putInt32(b, (int32_t)n) < 0)
            return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = tuple ? PyTuple_GET_ITEM(value, i) : PyList_GET_ITEM(value, i);
            if (marshalValue(b, item, depth + 1) < 0)
                return -1;
        }
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "cannot sign a %s value", Py_TYPE(value)->tp_name);
    return -1;
}

static uint32_t
adler32High(const unsigned char *data, Py_ssize_t size)
{
    /* zlib's Adler-32: a = 1 + the bytes, b = the sum of the a's, each
     * modulo 65521; the high 16 bits are b. */
    uint32_t a = 1, s = 0;
    while (size > 0) {
        Py_ssize_t run = size < 5552 ? size : 5552;
        size -= run;
        while (run--) {
            a += *data++;
            s += a;
        }
        a %= 65521;
        s %= 65521;
    }
    return s;
}

static PyObject *
spanBytes(PyObject *module, PyObject *rows)
{
    if (!PyList_CheckExact(rows)) {
        PyErr_SetString(PyExc_TypeError, "rows must be a list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(rows);
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_TypeError, "too many rows");
        return NULL;
    }
    Buffer seqs = {0}, lengths = {0}, lines = {0}, rest = {0};
    PyObject *checks = PyBytes_FromStringAndSize(NULL, 2 * n);
    PyObject *result = NULL;
    if (checks == NULL)
        return NULL;
    unsigned char *low = (unsigned char *)PyBytes_AS_STRING(checks);
    unsigned char *high = low + n;

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < 5) {
            PyErr_SetString(PyExc_TypeError, "a row must be a tuple of 5 values or more");
            goto done;
        }
        PyObject *seq = PyTuple_GET_ITEM(row, 0);
        PyObject *line = PyTuple_GET_ITEM(row, 4);
        if (!PyLong_CheckExact(seq) || !PyUnicode_CheckExact(line)) {
            PyErr_SetString(PyExc_TypeError, "a row's seq must be an int and its line a str");
            goto done;
        }
        long long seqValue = PyLong_AsLongLong(seq);
        if (seqValue == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "a seq beyond 64 bits");
            goto done;
        }
        if (putLittle(&seqs, (uint64_t)seqValue, 8) < 0)
            goto done;
        Py_ssize_t size;
        PyObject *owner;
        const char *data = utf8Of(line, &size, &owner);
        if (data == NULL)
            goto done;
        uint32_t check = adler32High((const unsigned char *)data, size);
        int failed = size > UINT32_MAX || putInt32(&lengths, (int32_t)(uint32_t)size) < 0
                     || put(&lines, data, size) < 0;
        Py_XDECREF(owner);
        if (failed) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "a line of 4 GiB or more");
            goto done;
        }
        low[i] = (unsigned char)(check & 0xFF);
        high[i] = (unsigned char)(check >> 8);
    }
    /* marshal version 2 of (dates, times, fields): '(' 3, then '[' n and
     * the values for each of the three columns. */
    if (putByte(&rest, '(') < 0 || putInt32(&rest, 3) < 0)
        goto done;
    for (int column = 1; column <= 3; column++) {
        if (putByte(&rest, '[') < 0 || putInt32(&rest, (int32_t)n) < 0)
            goto done;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *row = PyList_GET_ITEM(rows, i);
            if (marshalValue(&rest, PyTuple_GET_ITEM(row, column), 0) < 0)
                goto done;
        }
    }
    PyObject *data = PyBytes_FromStringAndSize(NULL, seqs.size + lengths.size + lines.size
                                                     + rest.size);
    if (data == NULL)
        goto done;
    char *out = PyBytes_AS_STRING(data);
    memcpy(out, seqs.data, seqs.size);
    out += seqs.size;
    memcpy(out, lengths.data, lengths.size);
    out += lengths.size;
    memcpy(out, lines.data, lines.size);
    out += lines.size;
    memcpy(out, rest.data, rest.size);
    result = PyTuple_Pack(2, data, checks);
    Py_DECREF(data);

done:
    PyMem_Free(seqs.data);
    PyMem_Free(lengths.data);
    PyMem_Free(lines.data);
    PyMem_Free(rest.data);
    Py_DECREF(checks);
    return result;
}

static PyMethodDef methods[] = {
    {"spanBytes", spanBytes, METH_O,
     "spanBytes(rows) -> (data, checks): a c5 span's bytes and line checks."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mice.db._spans",
    "The bytes of c5 spans in C (see mice.db.signature.spanParts).", -1, methods,
};

PyMODINIT_FUNC
PyInit__spans(void)
{
    return PyModule_Create(&module);
}
