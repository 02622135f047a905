/* The build of perturbed images (lime_cli.image.model.ImageBatch.build), compiled.
 *
 * A sample is the image, copied whole, then the fill over the runs of every region the sample
 * hides: a run is a stretch of consecutive values, in the output's layout, of one region where
 * the fill differs from the image.  Exactly what the numpy build writes, value for value, in
 * a little more than the time of a plain copy; the GIL is released, so that the next piece can
 * be built on a thread of its own while the model runs.  Optional: when it is not compiled,
 * the numpy build runs.  Every index is checked before anything is written. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static int
want(Py_buffer *view, Py_ssize_t itemsize, const char *name)
{
    if (view->itemsize != itemsize || view->len % itemsize != 0) {
        PyErr_Format(PyExc_TypeError, "build: %s has items of %zd bytes, not %zd", name,
                     view->itemsize, itemsize);
        return 0;
    }
    return 1;
}

/* build(image, fill, starts, lengths, first, masks, S, s0, out)
 *   image, fill: float32, P values each (one image in the output's layout)
 *   starts, lengths: int64, the runs, by region (region k's runs are first[k] to first[k + 1])
 *   first: int64, d + 1 values
 *   masks: float64 (D, S), C order, D >= d: sample s shows region k where masks[k, s] > 0.5
 *   s0: the first sample to write
 *   out: float32, writable, n * P values: samples s0 to s0 + n */
static PyObject *
build(PyObject *self, PyObject *args)
{
    Py_buffer image, fill, starts, lengths, first, masks, out;
    Py_ssize_t s0, S;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*nnw*", &image, &fill, &starts, &lengths, &first,
                          &masks, &S, &s0, &out))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t P = image.len / 4, d = first.len / 8 - 1, runs = starts.len / 8;
    if (!want(&image, 4, "image") || !want(&fill, 4, "fill") || !want(&starts, 8, "starts")
        || !want(&lengths, 8, "lengths") || !want(&first, 8, "first") || !want(&masks, 8, "masks")
        || !want(&out, 4, "out"))
        goto done;
    if (fill.len != image.len || starts.len != lengths.len || d < 0 || P == 0 || S <= 0
        || masks.len / 8 % S != 0 || masks.len / 8 / S < d || out.len / 4 % P != 0) {
        PyErr_SetString(PyExc_ValueError, "build: the arrays do not fit together");
        goto done;
    }
    Py_ssize_t n = out.len / 4 / P;
    if (s0 < 0 || s0 > S || n > S - s0) {
        PyErr_SetString(PyExc_ValueError, "build: the samples are outside the masks");
        goto done;
    }
    const float *im = image.buf, *fi = fill.buf;
    const int64_t *st = starts.buf, *ln = lengths.buf, *fr = first.buf;
    const double *z = masks.buf;
    float *o = out.buf;
    for (Py_ssize_t k = 0; k <= d; k++) { /* every run inside the image: checked before writing */
        if (fr[k] < 0 || fr[k] > runs || (k && fr[k] < fr[k - 1])) {
            PyErr_SetString(PyExc_ValueError, "build: first is not a partition of the runs");
            goto done;
        }
    }
    for (Py_ssize_t r = 0; r < runs; r++) {
        if (st[r] < 0 || st[r] > P || ln[r] < 0 || ln[r] > P - st[r]) {
            PyErr_SetString(PyExc_ValueError, "build: a run is outside the image");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        float *row = o + i * P;
        const double *zs = z + s0 + i;
        memcpy(row, im, (size_t)P * sizeof(float));
        for (Py_ssize_t k = 0; k < d; k++) {
            if (zs[k * S] > 0.5)
                continue;
            for (int64_t r = fr[k]; r < fr[k + 1]; r++)
                memcpy(row + st[r], fi + st[r], (size_t)ln[r] * sizeof(float));
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&image);
    PyBuffer_Release(&fill);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&lengths);
    PyBuffer_Release(&first);
    PyBuffer_Release(&masks);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS, "Write n perturbed images into out (see the file's comment)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernel", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__kernel(void)
{
    return PyModule_Create(&module);
}
