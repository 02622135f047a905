/* The build of perturbed images (lime_cli.image.model.ImageBatch.build), compiled.
 *
 * A sample is the image, copied whole, then the fill over the runs of every region the sample
 * hides: a run is a stretch of consecutive values, in the output's layout, of one region where
 * the fill differs from the image (found once per image by runs()).  Exactly what the numpy
 * build writes, value for value, in
 * a little more than the time of a plain copy; the GIL is released, so that the next piece can
 * be built on a thread of its own while the model runs.  Optional: when it is not compiled,
 * the numpy build runs.  Every index is checked before anything is written, and again where it
 * is used (an array sharing memory with the output, or written by another thread meanwhile,
 * could change after the first check). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* samples built together, region by region (see build) */
#define BLOCK 64

static int
want(Py_buffer *view, Py_ssize_t itemsize, const char *name)
{
    if (view->itemsize != itemsize || view->len % itemsize != 0) {
        PyErr_Format(PyExc_TypeError, "_kernel: %s has items of %zd bytes, not %zd", name,
                     view->itemsize, itemsize);
        return 0;
    }
    return 1;
}

/* n floats from src to dst.  A run is often a few values (a digit's 16-pixel region: rows of
 * about 4), for which a call of memcpy costs more than the copy: fixed-size copies, which the
 * compiler inlines, the last one overlapping the one before (it writes the same values). */
static inline void
copy(float *restrict dst, const float *restrict src, int64_t n)
{
    if (n >= 16) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    }
    else if (n >= 4) {
        for (int64_t j = 0; j + 4 <= n; j += 4)
            memcpy(dst + j, src + j, 4 * sizeof(float));
        memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
    }
    else if (n >= 2) {
        memcpy(dst, src, 2 * sizeof(float));
        memcpy(dst + n - 2, src + n - 2, 2 * sizeof(float));
    }
    else if (n == 1) {
        dst[0] = src[0];
    }
}

/* runs(key, d, starts, lengths, first) -> the number of runs
 *   key: int32, P values, the output's layout: the region of each value where the fill differs
 *     from the image, -1 where it does not
 *   starts, lengths: int64, writable, P values each (room for every run)
 *   first: int64, writable, d + 1 values
 * Writes the runs (maximal stretches of consecutive values of one region), region by region and
 * each region's in order: region k's are first[k] to first[k + 1]. */
static PyObject *
runs(PyObject *self, PyObject *args)
{
    Py_buffer key, starts, lengths, first;
    Py_ssize_t d;
    if (!PyArg_ParseTuple(args, "y*nw*w*w*", &key, &d, &starts, &lengths, &first))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t P = key.len / 4;
    if (!want(&key, 4, "key") || !want(&starts, 8, "starts") || !want(&lengths, 8, "lengths")
        || !want(&first, 8, "first"))
        goto done;
    if (d < 0 || first.len / 8 != d + 1 || starts.len / 8 < P || lengths.len / 8 < P) {
        PyErr_SetString(PyExc_ValueError, "runs: the arrays do not fit together");
        goto done;
    }
    const int32_t *kk = key.buf;
    int64_t *st = starts.buf, *ln = lengths.buf, *fr = first.buf;
    for (Py_ssize_t i = 0; i < P; i++) {
        if (kk[i] < -1 || kk[i] >= d) {
            PyErr_SetString(PyExc_ValueError, "runs: a key is not a region (or -1)");
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k <= d; k++)
        fr[k] = 0;
    for (Py_ssize_t i = 0; i < P; i++) /* runs of each region, counted at first[k + 1] */
        if (kk[i] >= 0 && kk[i] < d && (i == 0 || kk[i - 1] != kk[i]))
            fr[kk[i] + 1] += 1;
    for (Py_ssize_t k = 0; k < d; k++)
        fr[k + 1] += fr[k];
    Py_ssize_t total = (Py_ssize_t)fr[d];
    for (Py_ssize_t i = 0; i < P;) { /* each run at its region's next place: first[k] moves on */
        Py_ssize_t j = i + 1;
        while (j < P && kk[j] == kk[i])
            j++;
        if (kk[i] >= 0 && kk[i] < d && fr[kk[i]] < P) { /* (key checked; it may have changed since) */
            int64_t at = fr[kk[i]]++;
            st[at] = i;
            ln[at] = j - i;
        }
        i = j;
    }
    for (Py_ssize_t k = d; k > 0; k--) /* first[k] is now where region k ends: shift back */
        fr[k] = fr[k - 1];
    fr[0] = 0;
    result = PyLong_FromSsize_t(total);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&lengths);
    PyBuffer_Release(&first);
    return result;
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
    /* a block of samples at a time (BLOCK rows of the output stay in a core's cache): each
     * written whole from the image, then region by region, the samples of the block that hide
     * it (listed without a branch: whether a region is hidden is as good as random, and a
     * mispredicted branch cost more than a short run's copy) get its runs of the fill */
    Py_ssize_t which[BLOCK];
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b0 = 0; b0 < n; b0 += BLOCK) {
        Py_ssize_t nb = n - b0 < BLOCK ? n - b0 : BLOCK;
        for (Py_ssize_t i = 0; i < nb; i++)
            memcpy(o + (b0 + i) * P, im, (size_t)P * sizeof(float));
        for (Py_ssize_t k = 0; k < d; k++) {
            if (fr[k] == fr[k + 1])
                continue; /* the fill is the image all over the region */
            const double *zk = z + k * S + s0 + b0;
            Py_ssize_t m = 0;
            for (Py_ssize_t i = 0; i < nb; i++) {
                which[m] = i;
                m += !(zk[i] > 0.5);
            }
            /* the runs were checked before; these checks hold even if an array was changed since
             * (one sharing memory with out, or written by another thread) */
            int64_t r0 = fr[k] < 0 ? 0 : fr[k], r1 = fr[k + 1] > runs ? runs : fr[k + 1];
            for (Py_ssize_t j = 0; j < m; j++) {
                float *row = o + (b0 + which[j]) * P;
                for (int64_t r = r0; r < r1; r++)
                    if (st[r] >= 0 && ln[r] >= 0 && st[r] <= P - ln[r])
                        copy(row + st[r], fi + st[r], ln[r]);
            }
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
    {"runs", runs, METH_VARARGS, "The runs of each region, for build (see its comment)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernel", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__kernel(void)
{
    return PyModule_Create(&module);
}
