/*
 * mice.analysis._fieldre: a LogIDS block's fields regex run by PCRE2 (with
 * its JIT where it compiles), giving what Python's re gives.  The pattern
 * is rewritten for PCRE2 by mice.analysis.fieldregex.pcre2Pattern, which
 * makes it mean, on ASCII text, what the re pattern means; this module
 * runs it only on ASCII lines and hands every other line, and every line
 * PCRE2 fails on (its match or depth limits), to the re pattern's search.
 *
 * Regex(pattern, groups, search): pattern is the PCRE2 pattern (str or
 *   bytes), groups how many groups the re pattern has (PCRE2 must count
 *   as many), search the re pattern's search (a callable).  ValueError
 *   when PCRE2 refuses the pattern or counts other groups, TypeError for
 *   arguments of the wrong type.
 *
 * Regex.groups(line) -> tuple or None: search(line).groups('') (a str
 *   for each group, '' for one that did not take part), or None when the
 *   pattern is not found in line.
 *
 * version() -> str: PCRE2's version.
 */

#define PY_SSIZE_T_CLEAN
#define PCRE2_CODE_UNIT_WIDTH 8
#include <Python.h>
#include <pcre2.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    pcre2_code *code;
    /* The match data of a match; a match begun while it is in use (from a
     * finalizer run by the allocation of a result, say) makes its own. */
    pcre2_match_data *matchData;
    int busy;
    /* Whether pcre2_jit_compile succeeded: pcre2_jit_match may be used. */
    int jit;
    uint32_t groups;
    PyObject *search;
    PyObject *pattern;
} Regex;

static PyTypeObject RegexType;

/* The '' of the groups that did not take part (as m.groups('')). */
static PyObject *empty;

static void
Regex_dealloc(Regex *self)
{
    if (self->matchData != NULL)
        pcre2_match_data_free(self->matchData);
    if (self->code != NULL)
        pcre2_code_free(self->code);
    Py_XDECREF(self->search);
    Py_XDECREF(self->pattern);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Regex_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"pattern", "groups", "search", NULL};
    PyObject *pattern, *search;
    Py_ssize_t groups;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OnO:Regex", keywords, &pattern, &groups,
                                     &search))
        return NULL;
    const char *text;
    Py_ssize_t size;
    if (PyUnicode_Check(pattern)) {
        if (!PyUnicode_IS_ASCII(pattern)) {
            PyErr_SetString(PyExc_ValueError, "pattern must be ASCII");
            return NULL;
        }
        text = (const char *)PyUnicode_1BYTE_DATA(pattern);
        size = PyUnicode_GET_LENGTH(pattern);
    } else if (PyBytes_Check(pattern)) {
        text = PyBytes_AS_STRING(pattern);
        size = PyBytes_GET_SIZE(pattern);
    } else {
        PyErr_Format(PyExc_TypeError, "pattern must be str or bytes, not %s",
                     Py_TYPE(pattern)->tp_name);
        return NULL;
    }
    if (!PyCallable_Check(search)) {
        PyErr_Format(PyExc_TypeError, "search must be callable, not %s",
                     Py_TYPE(search)->tp_name);
        return NULL;
    }
    if (groups < 0) {
        PyErr_SetString(PyExc_ValueError, "groups must not be negative");
        return NULL;
    }
    int errorCode;
    PCRE2_SIZE errorOffset;
    /* No UTF or UCP: the pattern works on bytes, and only ASCII ones. */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)text, (PCRE2_SIZE)size,
                                     PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C,
                                     &errorCode, &errorOffset, NULL);
    if (code == NULL) {
        PCRE2_UCHAR message[256];
        if (pcre2_get_error_message(errorCode, message, sizeof(message)) < 0)
            strcpy((char *)message, "unknown error");
        PyErr_Format(PyExc_ValueError, "PCRE2 refuses the pattern at %zu: %s",
                     (size_t)errorOffset, (const char *)message);
        return NULL;
    }
    uint32_t count = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &count);
    if ((Py_ssize_t)count != groups) {
        pcre2_code_free(code);
        PyErr_Format(PyExc_ValueError, "PCRE2 counts %u groups, not %zd", count, groups);
        return NULL;
    }
    Regex *self = (Regex *)type->tp_alloc(type, 0);
    if (self == NULL) {
        pcre2_code_free(code);
        return NULL;
    }
    /* tp_alloc zeroes the rest: dealloc frees what is set. */
    self->code = code;
    self->groups = count;
    Py_INCREF(search);
    self->search = search;
    Py_INCREF(pattern);
    self->pattern = pattern;
    /* Without the JIT (a platform it lacks, no executable memory),
     * PCRE2's interpreter gives the same results, slower. */
    self->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    self->matchData = pcre2_match_data_create_from_pattern(code, NULL);
    if (self->matchData == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

/* What re gives for line: search(line).groups(''), or None. */
static PyObject *
fallback(Regex *self, PyObject *line)
{
    PyObject *found = PyObject_CallOneArg(self->search, line);
    if (found == NULL || found == Py_None)
        return found;
    PyObject *groups = PyObject_CallMethod(found, "groups", "O", empty);
    Py_DECREF(found);
    return groups;
}

/* The tuple of the groups of a match. */
static PyObject *
groupsOf(Regex *self, const char *data, const PCRE2_SIZE *ovector, int found)
{
    PyObject *groups = PyTuple_New(self->groups);
    if (groups == NULL)
        return NULL;
    for (uint32_t i = 1; i <= self->groups; i++) {
        PyObject *value;
        PCRE2_SIZE start = ovector[2 * i], end = ovector[2 * i + 1];
        if ((int)i >= found || start == PCRE2_UNSET || end < start) {
            value = empty;
            Py_INCREF(value);
        } else {
            value = PyUnicode_New((Py_ssize_t)(end - start), 127);
            if (value == NULL) {
                Py_DECREF(groups);
                return NULL;
            }
            memcpy(PyUnicode_1BYTE_DATA(value), data + start, end - start);
        }
        PyTuple_SET_ITEM(groups, i - 1, value);
    }
    return groups;
}

static PyObject *
Regex_groups(Regex *self, PyObject *line)
{
    if (!PyUnicode_Check(line)) {
        PyErr_Format(PyExc_TypeError, "line must be a str, not %s", Py_TYPE(line)->tp_name);
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    /* (A string of the deprecated Py_UNICODE API may not be ready.) */
    if (PyUnicode_READY(line) < 0)
        return NULL;
#endif
    /* PCRE2 reads the pattern as re does on ASCII text only. */
    if (!PyUnicode_IS_ASCII(line))
        return fallback(self, line);
    const char *data = (const char *)PyUnicode_1BYTE_DATA(line);
    PCRE2_SIZE size = (PCRE2_SIZE)PyUnicode_GET_LENGTH(line);
    pcre2_match_data *matchData = self->matchData;
    if (self->busy) {
        matchData = pcre2_match_data_create_from_pattern(self->code, NULL);
        if (matchData == NULL)
            return PyErr_NoMemory();
    }
    int found;
    if (self->jit)
        found = pcre2_jit_match(self->code, (PCRE2_SPTR)data, size, 0, 0, matchData, NULL);
    else
        found = pcre2_match(self->code, (PCRE2_SPTR)data, size, 0, 0, matchData, NULL);
    PyObject *result;
    if (found == PCRE2_ERROR_NOMATCH) {
        result = Py_None;
        Py_INCREF(result);
    } else if (found <= 0) {
        /* A limit reached (match, depth, heap, the JIT's stack): re
         * decides.  (0, an ovector too short, cannot happen with match
         * data made from the pattern.) */
        result = fallback(self, line);
    } else {
        /* Making the strings may run a finalizer that matches again. */
        int wasBusy = self->busy;
        self->busy = 1;
        result = groupsOf(self, data, pcre2_get_ovector_pointer(matchData), found);
        self->busy = wasBusy;
    }
    if (matchData != self->matchData)
        pcre2_match_data_free(matchData);
    return result;
}

static PyObject *
Regex_getPattern(Regex *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->pattern);
    return self->pattern;
}

static PyObject *
Regex_getJit(Regex *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->jit);
}

static PyObject *
Regex_getGroupCount(Regex *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(self->groups);
}

static PyObject *
version(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    char text[64];
    if (pcre2_config(PCRE2_CONFIG_VERSION, text) < 0)
        strcpy(text, "unknown");
    return PyUnicode_FromString(text);
}

static PyMethodDef RegexMethods[] = {
    {"groups", (PyCFunction)Regex_groups, METH_O,
     "groups(line) -> tuple or None: search(line).groups(''), None when not found."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef RegexGetSet[] = {
    {"pattern", (getter)Regex_getPattern, NULL, "The PCRE2 pattern.", NULL},
    {"jit", (getter)Regex_getJit, NULL, "Whether PCRE2's JIT compiled the pattern.", NULL},
    {"groupCount", (getter)Regex_getGroupCount, NULL, "How many groups the pattern has.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RegexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mice.analysis._fieldre.Regex",
    .tp_basicsize = sizeof(Regex),
    .tp_dealloc = (destructor)Regex_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Regex(pattern, groups, search): a PCRE2 pattern standing for a re pattern.",
    .tp_methods = RegexMethods,
    .tp_getset = RegexGetSet,
    .tp_new = Regex_new,
};

static PyMethodDef methods[] = {
    {"version", version, METH_NOARGS, "version() -> str: PCRE2's version."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mice.analysis._fieldre",
    "LogIDS fields regexes run by PCRE2 (see mice.analysis.fieldregex).", -1, methods,
};

PyMODINIT_FUNC
PyInit__fieldre(void)
{
    if (PyType_Ready(&RegexType) < 0)
        return NULL;
    if (empty == NULL) {
        empty = PyUnicode_New(0, 127);
        if (empty == NULL)
            return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&RegexType);
    if (PyModule_AddObject(m, "Regex", (PyObject *)&RegexType) < 0) {
        Py_DECREF(&RegexType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
