/* SLIC on one 2-D image (lime_cli.image.segment), compiled.
 *
 * The same computation as scikit-image's SLIC (skimage.segmentation.slic: its k-means loop and
 * its connectivity pass, for a 2-D image without a mask, SLIC-zero or spacing), operation for
 * operation in the same order and precision, so that the labels are the same, pixel for pixel
 * (tests/test_image.py compares the two on thousands of images).  What differs is speed: the
 * loop over a window's pixels is written so that the compiler can run it on several pixels at
 * once, and no Python is called between the steps.  Floating-point contraction is off: a fused
 * multiply-add rounds once where scikit-image rounds twice.  The GIL is released, so that the
 * images of a chunk can be segmented on several threads.  Optional: where it is not compiled,
 * scikit-image's own SLIC runs.  Every size is checked before anything is read or written. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* no fused multiply-add, whatever the flags (-march=native would allow it) */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* The pixel loop is compiled twice where the compiler can choose at run time (GCC on x86-64
 * Linux): for AVX2, 4 pixels at once, and for any x86-64 CPU, one at a time (SSE2 has no vector
 * conversion of the comparison to a label mask). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

static int
sized(Py_buffer *view, Py_ssize_t itemsize, Py_ssize_t items, const char *func, const char *name)
{
    if (view->itemsize != itemsize || view->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: %s must hold %zd items of %zd bytes", func, name, items,
                     itemsize);
        return 0;
    }
    return 1;
}

/* The window of a centre c (one coordinate) with grid step s, in [0, size): scikit-image's
 * <Py_ssize_t>max(c - 2 s, 0) and <Py_ssize_t>min(c + 2 s + 1, size).  A centre that is NaN (a
 * cluster that lost all its pixels) has an empty window there (its cast gives the same value to
 * both ends on x86-64); here it is said so outright. */
static int
window(double c, Py_ssize_t s, Py_ssize_t size, Py_ssize_t *lo, Py_ssize_t *hi)
{
    if (isnan(c))
        return 0;
    double a = c - (double)(2 * s), b = c + (double)(2 * s) + 1.0;
    a = 0.0 > a ? 0.0 : a;
    b = (double)size < b ? (double)size : b;
    *lo = (Py_ssize_t)a;
    *hi = (Py_ssize_t)b;
    return *lo < *hi;
}

/* One cluster's pass over its window: each pixel whose distance to the centre is below its
 * current one takes the cluster.  Defined for C = 1 and C = 3 (assign_1, assign_3), so that the
 * colour loop unrolls, and with no branch in the body, so that the x loop can run on several
 * pixels at once (see CLONES).  The distance: scikit-image's ((dz + dy + dx) * weight) + colour, with
 * dz = 0 on one plane, and the colour's sum of squares from its first channel on. */
#define ASSIGN(C)                                                                                   \
    CLONES static void assign_##C(const double *restrict img, double *restrict dist, int64_t *restrict lab, \
                          Py_ssize_t W, const double *restrict seg, int64_t k, double sw,          \
                          Py_ssize_t y0, Py_ssize_t y1, Py_ssize_t x0, Py_ssize_t x1)             \
    {                                                                                               \
        const double cy = seg[1], cx = seg[2];                                                      \
        for (Py_ssize_t y = y0; y < y1; y++) {                                                      \
            double dy = cy - (double)y;                                                             \
            dy *= dy;                                                                               \
            const double *p = img + y * W * C;                                                      \
            double *d = dist + y * W;                                                               \
            int64_t *l = lab + y * W;                                                               \
            for (int x = (int)x0; x < (int)x1; x++) { /* int: its conversion to double vectorises */ \
                double dx = cx - (double)x;                                                         \
                dx *= dx;                                                                           \
                double t = p[x * C] - seg[3];                                                       \
                double color = t * t;                                                               \
                for (int c = 1; c < C; c++) {                                                       \
                    t = p[x * C + c] - seg[3 + c];                                                  \
                    color += t * t;                                                                 \
                }                                                                                   \
                double here = (dy + dx) * sw + color;                                               \
                int64_t closer = -(int64_t)(d[x] > here); /* all ones where closer */               \
                l[x] = (l[x] & ~closer) | (k & closer);                                             \
                d[x] = d[x] > here ? here : d[x];                                                   \
            }                                                                                       \
        }                                                                                           \
    }

ASSIGN(1)
ASSIGN(3)

/* slic(image, H, W, C, segments, n, step, step_y, step_x, iterations, labels)
 *   image: float64 (H, W, C), C 1 or 3, already scaled by 1 / compactness
 *   segments: float64 (n, 3 + C), writable: the initial centres [z, y, x, colour...] in, the
 *     final ones out (z is 0: one plane)
 *   step: scikit-image's step (max of the grid's steps), used as float32 as it does
 *   step_y, step_x: the grid's steps of the n centres (the windows' half-widths / 2)
 *   labels: int64 (H, W), writable: the cluster of every pixel (-1 where none reached it) */
static PyObject *
slic(PyObject *self, PyObject *args)
{
    Py_buffer image, segments, labels;
    Py_ssize_t H, W, C, n, step_y, step_x, iterations;
    double step;
    if (!PyArg_ParseTuple(args, "y*nnnw*ndnnnw*", &image, &H, &W, &C, &segments, &n, &step, &step_y,
                          &step_x, &iterations, &labels))
        return NULL;
    PyObject *result = NULL;
    double *dist = NULL;
    Py_ssize_t *count = NULL;
    if (H <= 0 || W <= 0 || W > INT_MAX || (C != 1 && C != 3) || n <= 0 || iterations < 0
        || H > PY_SSIZE_T_MAX / W || H * W > PY_SSIZE_T_MAX / 8 / C || n > PY_SSIZE_T_MAX / 8 / (3 + C)) {
        PyErr_SetString(PyExc_ValueError, "slic: bad sizes");
        goto done;
    }
    if (!sized(&image, 8, H * W * C, "slic", "image")
        || !sized(&segments, 8, n * (3 + C), "slic", "segments") || !sized(&labels, 8, H * W, "slic", "labels"))
        goto done;
    dist = malloc((size_t)(H * W) * sizeof(double));
    count = malloc((size_t)n * sizeof(Py_ssize_t));
    if (!dist || !count) {
        PyErr_NoMemory();
        goto done;
    }
    const double *img = image.buf;
    double *seg = segments.buf;
    int64_t *lab = labels.buf;
    const Py_ssize_t F = 3 + C, P = H * W;
    const float step32 = (float)step; /* scikit-image's _slic_cython takes its step as float32 */
    const double sw = 1.0 / (step32 * step32);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < P; i++)
        lab[i] = -1;
    for (Py_ssize_t it = 0; it < iterations; it++) {
        int change = 0;
        for (Py_ssize_t i = 0; i < P; i++)
            dist[i] = DBL_MAX;
        for (Py_ssize_t k = 0; k < n; k++) {
            const double *s = seg + k * F;
            Py_ssize_t y0, y1, x0, x1;
            if (isnan(s[0]) || !window(s[1], step_y, H, &y0, &y1) || !window(s[2], step_x, W, &x0, &x1))
                continue;
            if (C == 1)
                assign_1(img, dist, lab, W, s, k, sw, y0, y1, x0, x1);
            else
                assign_3(img, dist, lab, W, s, k, sw, y0, y1, x0, x1);
        }
        for (Py_ssize_t i = 0; i < P && !change; i++)
            change = dist[i] < DBL_MAX; /* a pixel that took a cluster: scikit-image's change */
        if (!change)
            break;
        for (Py_ssize_t k = 0; k < n * F; k++)
            seg[k] = 0.0;
        for (Py_ssize_t k = 0; k < n; k++)
            count[k] = 0;
        for (Py_ssize_t y = 0; y < H; y++) {
            for (Py_ssize_t x = 0; x < W; x++) {
                int64_t k = lab[y * W + x];
                if (k < 0)
                    continue;
                double *s = seg + k * F;
                const double *p = img + (y * W + x) * C;
                count[k] += 1;
                s[1] += (double)y;
                s[2] += (double)x;
                for (Py_ssize_t c = 0; c < C; c++)
                    s[3 + c] += p[c];
            }
        }
        for (Py_ssize_t k = 0; k < n; k++)
            for (Py_ssize_t f = 0; f < F; f++)
                seg[k * F + f] /= (double)count[k];
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(dist);
    free(count);
    PyBuffer_Release(&image);
    PyBuffer_Release(&segments);
    PyBuffer_Release(&labels);
    return result;
}

/* connect(labels, H, W, min_size, max_size, out)
 *   scikit-image's _enforce_label_connectivity_cython on one plane, start label 0: each 4-connected
 *   component (found breadth first, at most max_size pixels) gets a label of its own, in the order
 *   of its first pixel, unless it has fewer than min_size pixels: then it takes the label of the
 *   last labelled neighbour its search met.
 *   labels: int64 (H, W) (a pixel labelled -1 is left so); out: int64 (H, W), writable */
static PyObject *
connect(PyObject *self, PyObject *args)
{
    Py_buffer labels, out;
    Py_ssize_t H, W, min_size, max_size;
    if (!PyArg_ParseTuple(args, "y*nnnnw*", &labels, &H, &W, &min_size, &max_size, &out))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t *queue = NULL;
    if (H <= 0 || W <= 0 || H > PY_SSIZE_T_MAX / W || H * W > PY_SSIZE_T_MAX / 16 || max_size < 1) {
        PyErr_SetString(PyExc_ValueError, "connect: bad sizes");
        goto done;
    }
    if (!sized(&labels, 8, H * W, "connect", "labels") || !sized(&out, 8, H * W, "connect", "out"))
        goto done;
    const Py_ssize_t P = H * W;
    const int64_t *seg = labels.buf;
    int64_t *con = out.buf;
    if (max_size > P)
        max_size = P; /* a component never has more pixels than the image */
    queue = malloc((size_t)max_size * sizeof(Py_ssize_t));
    if (!queue) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < P; i++)
        con[i] = -1;
    int64_t next = 0;
    for (Py_ssize_t i = 0; i < P; i++) {
        if (seg[i] < 0 || con[i] >= 0) /* no cluster reached it, or already in a component */
            continue;
        int64_t adjacent = next, label = seg[i];
        Py_ssize_t size = 1, visited = 0;
        con[i] = next;
        queue[0] = i;
        while (visited < size && size < max_size) {
            Py_ssize_t at = queue[visited], y = at / W, x = at % W;
            /* scikit-image's order of neighbours: x + 1, x - 1, y + 1, y - 1 */
            const Py_ssize_t ny[4] = {y, y, y + 1, y - 1}, nx[4] = {x + 1, x - 1, x, x};
            for (int j = 0; j < 4; j++) {
                if (nx[j] < 0 || nx[j] >= W || ny[j] < 0 || ny[j] >= H)
                    continue;
                Py_ssize_t q = ny[j] * W + nx[j];
                if (seg[q] == label && con[q] == -1) {
                    con[q] = next;
                    queue[size++] = q;
                    if (size >= max_size)
                        break;
                }
                else if (con[q] >= 0 && con[q] != next) {
                    adjacent = con[q];
                }
            }
            visited++;
        }
        if (size < min_size) {
            for (Py_ssize_t j = 0; j < size; j++)
                con[queue[j]] = adjacent;
        }
        else {
            next++;
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(queue);
    PyBuffer_Release(&labels);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"slic", slic, METH_VARARGS, "SLIC's k-means on one plane (see the file's comment)."},
    {"connect", connect, METH_VARARGS, "SLIC's connectivity pass on one plane (see the file's comment)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_segment", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__segment(void)
{
    return PyModule_Create(&module);
}
