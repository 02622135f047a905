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
 * scikit-image's own SLIC runs.  Every size is checked before anything is read or written, and
 * every index read from an array (a centre, a label) is checked where it is used: an array that
 * shares memory with another, or that another thread writes meanwhile, can change after a check
 * made first. */

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

/* The window of a centre c (one coordinate) with grid step s (0 <= s <= MAX_STEP), in [0, size):
 * scikit-image's <Py_ssize_t>max(c - 2 s, 0) and <Py_ssize_t>min(c + 2 s + 1, size).  A centre
 * that is NaN (a cluster that lost all its pixels) has an empty window there (its cast gives the
 * same value to both ends on x86-64); here it is said so outright, as for a window outside the
 * image (only a centre given by a caller can be there: its cast would be undefined). */
static int
window(double c, Py_ssize_t s, Py_ssize_t size, Py_ssize_t *lo, Py_ssize_t *hi)
{
    double a = c - (double)(2 * s), b = c + (double)(2 * s) + 1.0;
    if (!(a < (double)size && b > 0.0)) /* NaN, or no pixel of the image */
        return 0;
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

/* SLIC's k-means on one image (no GIL needed): image (H, W, C) scaled by 1 / compactness;
 * seg (n, 3 + C), the initial centres in, the final ones out; lab (H, W) out, -1 where no cluster
 * reached; dist (H, W) and count (n) room to work in.  sw: 1 / step^2, step as float32. */
static void
kmeans(const double *img, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, double *seg, Py_ssize_t n, double sw,
       Py_ssize_t step_y, Py_ssize_t step_x, Py_ssize_t iterations, int64_t *lab, double *dist,
       Py_ssize_t *count)
{
    const Py_ssize_t F = 3 + C, P = H * W;
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
                if (k < 0 || k >= n) /* none reached it (or the labels were changed meanwhile) */
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
}

/* scikit-image's _enforce_label_connectivity_cython on one plane, start label 0 (no GIL
 * needed): each 4-connected component of seg (found breadth first, at most max_size pixels;
 * max_size <= H * W) gets a label of its own in con, in the order of its first pixel, unless it
 * has fewer than min_size pixels: then it takes the label of the last labelled neighbour its
 * search met, or, having met none, the next label, which the next component also takes (as
 * scikit-image does; the labels stay 0..d-1).  A pixel labelled -1 is left so.  queue: room for
 * max_size pixels. */
static void
components(const int64_t *seg, Py_ssize_t H, Py_ssize_t W, Py_ssize_t min_size, Py_ssize_t max_size,
           int64_t *con, Py_ssize_t *queue)
{
    const Py_ssize_t P = H * W;
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
}

/* the largest grid step taken (2 s + 1 must be exact in a double and not overflow) */
#define MAX_STEP ((Py_ssize_t)1 << 40)

static int
sizes_ok(Py_ssize_t B, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t n, Py_ssize_t iterations,
         Py_ssize_t step_y, Py_ssize_t step_x)
{
    if (step_y < 0 || step_x < 0 || step_y > MAX_STEP || step_x > MAX_STEP) {
        PyErr_SetString(PyExc_ValueError, "slic: a grid step is out of range");
        return 0;
    }
    if (B <= 0 || H <= 0 || W <= 0 || W > INT_MAX / 3 || (C != 1 && C != 3) || n <= 0 || iterations < 0
        || H > PY_SSIZE_T_MAX / W || H * W > PY_SSIZE_T_MAX / 16 / C / B || n > PY_SSIZE_T_MAX / 8 / (3 + C)) {
        PyErr_SetString(PyExc_ValueError, "slic: bad sizes");
        return 0;
    }
    return 1;
}

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
    if (!sizes_ok(1, H, W, C, n, iterations, step_y, step_x) || !sized(&image, 8, H * W * C, "slic", "image")
        || !sized(&segments, 8, n * (3 + C), "slic", "segments") || !sized(&labels, 8, H * W, "slic", "labels"))
        goto done;
    dist = malloc((size_t)(H * W) * sizeof(double));
    count = malloc((size_t)n * sizeof(Py_ssize_t));
    if (!dist || !count) {
        PyErr_NoMemory();
        goto done;
    }
    const float step32 = (float)step; /* scikit-image's _slic_cython takes its step as float32 */
    const double sw = 1.0 / (step32 * step32);
    Py_BEGIN_ALLOW_THREADS
    kmeans(image.buf, H, W, C, segments.buf, n, sw, step_y, step_x, iterations, labels.buf, dist, count);
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

/* connect(labels, H, W, min_size, max_size, out): components() of labels (int64 (H, W)) into
 * out (int64 (H, W), writable) */
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
    if (max_size > H * W)
        max_size = H * W; /* a component never has more pixels than the image */
    queue = malloc((size_t)max_size * sizeof(Py_ssize_t));
    if (!queue) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    components(labels.buf, H, W, min_size, max_size, out.buf, queue);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(queue);
    PyBuffer_Release(&labels);
    PyBuffer_Release(&out);
    return result;
}

/* slic_many(images, B, H, W, C, centres, n, step, step_y, step_x, iterations, min_size, max_size, out)
 *   B images at once, each as slic() then connect() (one call, the GIL released throughout: the
 *   images of a chunk are segmented on several threads, each a part of them)
 *   images: float64 (B, H, W, C), each already scaled by 1 / compactness
 *   centres: float64 (n, 3), the initial centres (colours start at 0)
 *   out: int64 (B, H, W), writable: each image's labels */
static PyObject *
slic_many(PyObject *self, PyObject *args)
{
    Py_buffer images, centres, out;
    Py_ssize_t B, H, W, C, n, step_y, step_x, iterations, min_size, max_size;
    double step;
    if (!PyArg_ParseTuple(args, "y*nnnny*ndnnnnnw*", &images, &B, &H, &W, &C, &centres, &n, &step, &step_y,
                          &step_x, &iterations, &min_size, &max_size, &out))
        return NULL;
    PyObject *result = NULL;
    double *dist = NULL, *seg = NULL;
    Py_ssize_t *count = NULL, *queue = NULL;
    int64_t *lab = NULL;
    if (max_size < 1) {
        PyErr_SetString(PyExc_ValueError, "slic_many: max_size must be at least 1");
        goto done;
    }
    if (!sizes_ok(B, H, W, C, n, iterations, step_y, step_x) || !sized(&images, 8, B * H * W * C, "slic_many", "images")
        || !sized(&centres, 8, n * 3, "slic_many", "centres") || !sized(&out, 8, B * H * W, "slic_many", "out"))
        goto done;
    const Py_ssize_t P = H * W, F = 3 + C;
    if (max_size > P)
        max_size = P;
    dist = malloc((size_t)P * sizeof(double));
    lab = malloc((size_t)P * sizeof(int64_t));
    seg = malloc((size_t)(n * F) * sizeof(double));
    count = malloc((size_t)n * sizeof(Py_ssize_t));
    queue = malloc((size_t)max_size * sizeof(Py_ssize_t));
    if (!dist || !lab || !seg || !count || !queue) {
        PyErr_NoMemory();
        goto done;
    }
    const double *img = images.buf, *cen = centres.buf;
    int64_t *o = out.buf;
    const float step32 = (float)step;
    const double sw = 1.0 / (step32 * step32);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = 0; b < B; b++) {
        for (Py_ssize_t k = 0; k < n; k++) {
            for (Py_ssize_t f = 0; f < F; f++)
                seg[k * F + f] = f < 3 ? cen[k * 3 + f] : 0.0;
        }
        kmeans(img + b * P * C, H, W, C, seg, n, sw, step_y, step_x, iterations, lab, dist, count);
        components(lab, H, W, min_size, max_size, o + b * P, queue);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(dist);
    free(lab);
    free(seg);
    free(count);
    free(queue);
    PyBuffer_Release(&images);
    PyBuffer_Release(&centres);
    PyBuffer_Release(&out);
    return result;
}

/* Labels (B, H, W) int32, each image's 0..widths[b]-1, checked: 1 if every label is in range. */
static int
labels_ok(const int32_t *lab, Py_ssize_t B, Py_ssize_t P, const int64_t *widths, Py_ssize_t D, const char *func)
{
    for (Py_ssize_t b = 0; b < B; b++) {
        if (widths[b] < 0 || widths[b] > D) {
            PyErr_Format(PyExc_ValueError, "%s: a width is outside 0..D", func);
            return 0;
        }
        for (Py_ssize_t i = 0; i < P; i++) {
            if (lab[b * P + i] < 0 || lab[b * P + i] >= widths[b]) {
                PyErr_Format(PyExc_ValueError, "%s: a label is outside its image's regions", func);
                return 0;
            }
        }
    }
    return 1;
}

/* regions(labels, widths, B, H, W, D, boxes, areas)
 *   labels: int32 (B, H, W), image b's 0..widths[b]-1; widths: int64 (B)
 *   boxes: int64 (B, D, 4), writable: each region's [r0, c0, r1, c1] (ends exclusive; a region
 *     without pixels [H, W, 0, 0]); areas: int64 (B, D), writable: its pixels */
static PyObject *
regions(PyObject *self, PyObject *args)
{
    Py_buffer labels, widths, boxes, areas;
    Py_ssize_t B, H, W, D;
    if (!PyArg_ParseTuple(args, "y*y*nnnnw*w*", &labels, &widths, &B, &H, &W, &D, &boxes, &areas))
        return NULL;
    PyObject *result = NULL;
    if (B < 0 || H <= 0 || W <= 0 || D < 0 || H > PY_SSIZE_T_MAX / W || (B && H * W > PY_SSIZE_T_MAX / 8 / B)
        || (B && D > PY_SSIZE_T_MAX / 32 / B)) {
        PyErr_SetString(PyExc_ValueError, "regions: bad sizes");
        goto done;
    }
    const Py_ssize_t P = H * W;
    if (!sized(&labels, 4, B * P, "regions", "labels") || !sized(&widths, 8, B, "regions", "widths")
        || !sized(&boxes, 8, B * D * 4, "regions", "boxes") || !sized(&areas, 8, B * D, "regions", "areas")
        || !labels_ok(labels.buf, B, P, widths.buf, D, "regions"))
        goto done;
    const int32_t *lab = labels.buf;
    int64_t *box = boxes.buf, *area = areas.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < B * D; k++) {
        box[4 * k] = H, box[4 * k + 1] = W, box[4 * k + 2] = 0, box[4 * k + 3] = 0;
        area[k] = 0;
    }
    for (Py_ssize_t b = 0; b < B; b++) {
        for (Py_ssize_t y = 0; y < H; y++) {
            for (Py_ssize_t x = 0; x < W; x++) {
                int32_t l = lab[b * P + y * W + x];
                if (l < 0 || l >= D) /* checked before; changed meanwhile */
                    continue;
                Py_ssize_t k = b * D + l;
                int64_t *r = box + 4 * k;
                r[0] = y < r[0] ? y : r[0];
                r[1] = x < r[1] ? x : r[1];
                r[2] = y + 1 > r[2] ? y + 1 : r[2];
                r[3] = x + 1 > r[3] ? x + 1 : r[3];
                area[k] += 1;
            }
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&labels);
    PyBuffer_Release(&widths);
    PyBuffer_Release(&boxes);
    PyBuffer_Release(&areas);
    return result;
}

/* means(images, labels, widths, B, H, W, C, D, fills)
 *   images: float32 (B, H, W, C); labels, widths as for regions()
 *   fills: float32 (B, H, W, C), writable: each pixel its region's mean colour, as numpy's
 *     bincount(labels, weights=channel) / max(count, 1) in float64, then float32 (the sums in
 *     the pixels' order, as bincount adds them: the same values) */
static PyObject *
means(PyObject *self, PyObject *args)
{
    Py_buffer images, labels, widths, fills;
    Py_ssize_t B, H, W, C, D;
    if (!PyArg_ParseTuple(args, "y*y*y*nnnnnw*", &images, &labels, &widths, &B, &H, &W, &C, &D, &fills))
        return NULL;
    PyObject *result = NULL;
    double *sums = NULL;
    Py_ssize_t *count = NULL;
    if (B < 0 || H <= 0 || W <= 0 || C <= 0 || D < 0 || H > PY_SSIZE_T_MAX / W
        || (B && H * W > PY_SSIZE_T_MAX / 8 / B / C) || D > PY_SSIZE_T_MAX / 8 / C) {
        PyErr_SetString(PyExc_ValueError, "means: bad sizes");
        goto done;
    }
    const Py_ssize_t P = H * W;
    if (!sized(&images, 4, B * P * C, "means", "images") || !sized(&labels, 4, B * P, "means", "labels")
        || !sized(&widths, 8, B, "means", "widths") || !sized(&fills, 4, B * P * C, "means", "fills")
        || !labels_ok(labels.buf, B, P, widths.buf, D, "means"))
        goto done;
    sums = malloc((size_t)(D * C + 1) * sizeof(double));
    count = malloc((size_t)(D + 1) * sizeof(Py_ssize_t));
    if (!sums || !count) {
        PyErr_NoMemory();
        goto done;
    }
    const float *img = images.buf;
    const int32_t *lab = labels.buf;
    float *out = fills.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = 0; b < B; b++) {
        const float *im = img + b * P * C;
        const int32_t *lb = lab + b * P;
        float *o = out + b * P * C;
        for (Py_ssize_t k = 0; k < D * C; k++)
            sums[k] = 0.0;
        for (Py_ssize_t k = 0; k < D; k++)
            count[k] = 0;
        for (Py_ssize_t i = 0; i < P; i++) {
            int32_t l = lb[i];
            if (l < 0 || l >= D) /* checked before; changed meanwhile */
                continue;
            count[l] += 1;
            for (Py_ssize_t c = 0; c < C; c++)
                sums[l * C + c] += (double)im[i * C + c];
        }
        for (Py_ssize_t k = 0; k < D; k++) {
            double n = (double)(count[k] > 1 ? count[k] : 1);
            for (Py_ssize_t c = 0; c < C; c++)
                sums[k * C + c] = (double)(float)(sums[k * C + c] / n);
        }
        for (Py_ssize_t i = 0; i < P; i++) {
            int32_t l = lb[i];
            for (Py_ssize_t c = 0; c < C; c++)
                o[i * C + c] = l < 0 || l >= D ? 0.0f : (float)sums[l * C + c];
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(sums);
    free(count);
    PyBuffer_Release(&images);
    PyBuffer_Release(&labels);
    PyBuffer_Release(&widths);
    PyBuffer_Release(&fills);
    return result;
}

static PyMethodDef methods[] = {
    {"slic", slic, METH_VARARGS, "SLIC's k-means on one plane (see the file's comment)."},
    {"connect", connect, METH_VARARGS, "SLIC's connectivity pass on one plane (see the file's comment)."},
    {"slic_many", slic_many, METH_VARARGS, "slic() then connect() on several images (see the file's comment)."},
    {"regions", regions, METH_VARARGS, "Each region's bounding box and area (see the file's comment)."},
    {"means", means, METH_VARARGS, "Each pixel's region's mean colour (see the file's comment)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_segment", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__segment(void)
{
    return PyModule_Create(&module);
}
