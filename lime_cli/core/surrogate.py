"""Batched weighted linear surrogates.

Every surrogate of a chunk is solved from its weighted second moments: for
problem p (one instance and one label) with representation Z (S, d), weights
w (S,) and target y (S,), the weighted-centred Gram matrix A = Zc' W Zc, the
vector b = Zc' W yc and the scalar c = yc' W yc determine every least-squares
fit on any subset of the columns.  Feature selection and the final ridge fit
work on these (d, d) moments only, and forward selection forms just the K
columns of A it picks.

This reproduces lime's surrogate exactly in exact arithmetic: forward
selection by unpenalized weighted R², 'highest weights' by a ridge with
alpha 0.01, the lasso path, and a final ridge with alpha 1 and an intercept,
scored by weighted R².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..settings import SELECTIONS  # noqa: F401 - the methods select() knows

_CONTROLLER = None


def single_thread_blas():
    """A context in which BLAS runs on one thread (the problems here are small)."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


class Moments:
    """Weighted moments of P = B * L problems (B instances, L labels each).

    The vectors (means, ``b``, ``c``, the Gram diagonal) are computed at once.
    The Gram matrix ``A`` is computed only if a method needs all of it
    ('highest', 'lasso', 'none'); forward selection asks for the K columns
    it picks, which costs O(S d K) per problem instead of O(S d²).
    """

    def __init__(self, Z: np.ndarray, w: np.ndarray, Y: np.ndarray, binary: int = 0) -> None:
        B, d, S = Z.shape
        L = Y.shape[2]
        self.Z, self.w, self.Y, self.L, self.n_samples = Z, w, Y, L, S
        self.sw = w.sum(axis=1)  # (B,)
        z_mean = np.empty((B, d))
        y_mean = np.empty((B, L))
        diag = np.empty((B, d))
        bxy = np.empty((B, d, L))
        c = np.empty((B, L))
        # BLAS products per instance: the same operations whatever the chunk holds
        for i in range(B):
            wi, zi, sw = w[i], Z[i], self.sw[i]
            zw = zi @ wi
            z_mean[i] = zw / sw
            y_mean[i] = wi @ Y[i] / sw
            yc = Y[i] - y_mean[i]
            if binary < d:  # a 0/1 column is its own square
                zw[binary:] = (zi[binary:] * zi[binary:]) @ wi
            diag[i] = zw - sw * z_mean[i] ** 2
            bxy[i] = zi @ (wi[:, None] * yc)
            c[i] = wi @ (yc * yc)
        self._z_mean_b = z_mean
        self.z_mean = np.repeat(z_mean, L, axis=0)  # (P, d)
        self.y_mean = y_mean.reshape(B * L)  # (P,)
        self.diag = np.repeat(np.maximum(diag, 0.0), L, axis=0)  # (P, d)
        self.b = bxy.transpose(0, 2, 1).reshape(B * L, d)  # (P, d)
        self.c = c.reshape(B * L)  # (P,)
        self._A: np.ndarray | None = None
        self._columns: dict[tuple[int, int], np.ndarray] = {}

    @property
    def A(self) -> np.ndarray:
        """The full weighted-centred Gram matrices (P, d, d)."""
        if self._A is None:
            Z, w = self.Z, self.w
            B, d, _ = Z.shape
            A = np.empty((B, d, d))
            for i in range(B):
                zm = self._z_mean_b[i]
                A[i] = (Z[i] * w[i]) @ Z[i].T - self.sw[i] * np.outer(zm, zm)
            A = 0.5 * (A + A.transpose(0, 2, 1))
            self._A = np.repeat(A, self.L, axis=0)
        return self._A

    def column(self, j: np.ndarray) -> np.ndarray:
        """Column ``j[p]`` of problem p's Gram matrix, for every p: (P, d)."""
        if self._A is not None:
            return self._A[np.arange(len(j)), :, j]
        out = np.empty((len(j), self.Z.shape[1]))
        for p, jp in enumerate(j.tolist()):
            i = p // self.L
            col = self._columns.get((i, jp))
            if col is None:  # labels of one instance share its columns
                zi, zm = self.Z[i], self._z_mean_b[i]
                col = self._columns[i, jp] = zi @ (self.w[i] * zi[jp]) - self.sw[i] * zm * zm[jp]
            out[p] = col
        return out


def moments(Z: np.ndarray, w: np.ndarray, Y: np.ndarray, binary: int = 0) -> Moments:
    """Moments for B instances and L labels each: P = B * L problems.

    ``Z`` is (B, d, S), ``w`` (B, S) and ``Y`` (B, S, L); problem ``b * L + l``
    is instance b with label l.  The first ``binary`` columns of Z hold only 0 and 1.
    """
    return Moments(Z, w, Y, binary)


def select(m: Moments, k: int, method: str, z0: np.ndarray) -> np.ndarray:
    """Indices (P, k') of the selected features for each problem.

    ``z0`` (P, d) is each instance's own representation (lime weighs the
    'highest weights' ranking by it).
    """
    P, d = m.b.shape
    k = min(k, d)
    if method == "auto":
        method = "forward" if k <= 6 else "highest"
    if method == "none":
        return np.broadcast_to(np.arange(d), (P, d)).copy()
    if method == "forward":
        return _forward(m, k)
    if method == "highest":
        beta = _ridge(m.A, m.b, 0.01)
        score = np.abs(beta * z0)
        return np.argsort(-score, axis=1, kind="stable")[:, :k]
    if method == "lasso":
        return _lasso(m, k)
    raise ValueError(f"unknown feature selection {method!r}")


def _forward(m: Moments, k: int) -> np.ndarray:
    """Greedy forward selection by weighted R² of an unpenalized fit.

    Sweeping the picked columns out of [[A, b], [b', c]] leaves the moments
    of every column and of y residualized on them; the R² gain of candidate j
    is then b_j**2 / A_jj.  The sweep is applied through the residualized
    pivot columns u_t, so only the K picked columns of A are ever formed.
    """
    P, d = m.b.shape
    rows = np.arange(P)
    diag = m.diag.copy()
    b = m.b.copy()
    tol = 1e-10 * np.maximum(m.diag, 1e-300)
    used = np.zeros((P, d), dtype=bool)
    chosen = np.empty((P, k), dtype=np.intp)
    pivots: list[tuple[np.ndarray, np.ndarray]] = []  # (u_t, 1 / pivot_t or 0)
    for step in range(k):
        ok = diag > tol
        gain = np.where(ok, b**2 / np.where(ok, diag, 1.0), 0.0)
        gain[used] = -np.inf
        j = np.argmax(gain, axis=1)
        chosen[:, step] = j
        used[rows, j] = True
        u = m.column(j).copy()
        for prev, inv in pivots:
            u -= prev * (prev[rows, j] * inv)[:, None]
        piv = u[rows, j]
        inv = np.where(ok[rows, j], 1.0 / np.where(ok[rows, j], piv, 1.0), 0.0)
        diag -= u**2 * inv[:, None]
        b -= u * (b[rows, j] * inv)[:, None]
        pivots.append((u, inv))
    return chosen


def _sub_gram(m: Moments, features: np.ndarray) -> np.ndarray:
    """A[p][features[p]][:, features[p]] for every p: (P, k, k)."""
    P, k = features.shape
    rows = np.arange(P)[:, None]
    if m._A is not None:
        return m._A[rows[:, :, None], features[:, :, None], features[:, None, :]]
    cols = np.stack([m.column(features[:, t]) for t in range(k)], axis=2)  # (P, d, k)
    sub = cols[rows, features, :]  # (P, k, k)
    return 0.5 * (sub + sub.transpose(0, 2, 1))


def _lasso(m: Moments, k: int) -> np.ndarray:
    """lime's lasso-path selection: the last point of the path with <= k features."""
    from sklearn.linear_model import lars_path_gram

    P, d = m.b.shape
    out = np.zeros((P, k), dtype=np.intp)
    for p in range(P):  # small (d, d) problems; the samples are not touched
        _, _, coefs = lars_path_gram(Xy=m.b[p], Gram=m.A[p], n_samples=m.n_samples, method="lasso")
        nonzero = np.arange(d)
        for i in range(coefs.shape[1] - 1, 0, -1):
            nonzero = coefs[:, i].nonzero()[0]
            if len(nonzero) <= k:
                break
        picked = list(nonzero[:k])
        picked += [j for j in range(d) if j not in picked][: k - len(picked)]
        out[p] = picked
    return out


def _ridge(A: np.ndarray, b: np.ndarray, alpha) -> np.ndarray:
    """Solve (A + diag(alpha)) beta = b; ``alpha`` a scalar or (P, d) penalties."""
    d = A.shape[-1]
    reg = A.copy()
    idx = np.arange(d)
    reg[:, idx, idx] += alpha
    try:
        return np.linalg.solve(reg, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # alpha == 0 and a singular Gram matrix
        return np.matmul(np.linalg.pinv(reg), b[:, :, None])[:, :, 0]


@dataclass
class Fit:
    """Surrogates of P problems on their selected features."""

    features: np.ndarray  # (P, k) selected feature indices
    coef: np.ndarray  # (P, k)
    intercept: np.ndarray  # (P,)
    local_prediction: np.ndarray  # (P,) surrogate at the instance
    score: np.ndarray  # (P,) weighted R²
    alpha: float = 1.0

    @classmethod
    def concatenate(cls, fits: list[Fit]) -> Fit:
        """The fits of several groups of problems, as one."""
        if len(fits) == 1:
            return fits[0]
        fields = ("features", "coef", "intercept", "local_prediction", "score")
        return cls(*(np.concatenate([getattr(f, n) for f in fits]) for n in fields), alpha=fits[0].alpha)


def fit(
    m: Moments, features: np.ndarray, z0: np.ndarray, alpha: float = 1.0, dropped: np.ndarray | None = None
) -> Fit:
    """Ridge with intercept on the selected features, as lime's final model.

    ``dropped`` (P, k) marks selected features to leave out of the fit (their
    coefficient is then 0): the fit on the others is computed in the same batch.
    """
    P = len(features)
    rows = np.arange(P)[:, None]
    A = _sub_gram(m, features)
    b = m.b[rows, features]
    penalty = alpha if dropped is None else np.where(dropped, 1e30, alpha)
    beta = _ridge(A, b, penalty)
    if dropped is not None:
        beta[dropped] = 0.0
    intercept = m.y_mean - np.einsum("pk,pk->p", m.z_mean[rows, features], beta)
    local = intercept + np.einsum("pk,pk->p", z0[rows, features], beta)
    rss = m.c - 2 * np.einsum("pk,pk->p", beta, b) + np.einsum("pi,pij,pj->p", beta, A, beta)
    rss = np.maximum(rss, 0.0)
    # a target that does not vary over the samples (up to rounding) is fitted exactly by
    # its mean: report zero weights and a perfect score rather than rounding noise
    flat = m.c <= 1e-20 * np.maximum(m.y_mean**2, 1.0) * m.n_samples
    beta[flat] = 0.0
    intercept[flat] = local[flat] = m.y_mean[flat]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(flat, 1.0, 1.0 - rss / np.where(flat, 1.0, m.c))
    return Fit(
        features=features, coef=beta, intercept=intercept, local_prediction=local, score=score, alpha=alpha
    )


def t_statistics(m: Moments, fit: Fit) -> np.ndarray:
    """|coefficient| / robust standard error (P, k) of each fitted coefficient.

    The sandwich (HC0) covariance of the weighted ridge estimate, which does
    not take the kernel weights for inverse variances:
    (A + aI)^-1 [sum_s w_s^2 e_s^2 z_s z_s'] (A + aI)^-1, with z centred.
    """
    P, k = fit.features.shape
    meat = np.empty((P, k, k))
    # problem by problem: the (k, S) temporaries stay in a core's cache, and each
    # problem's sums are the same whatever else the chunk holds
    for p, (f, coef) in enumerate(zip(fit.features, fit.coef, strict=True)):
        i, label = divmod(p, m.L)
        zc = m.Z[i, f] - m.z_mean[p, f][:, None]  # (k, S), centred
        we = m.Y[i, :, label] - m.y_mean[p]
        we -= coef @ zc  # the residuals
        we *= m.w[i]
        we *= we
        meat[p] = (zc * we) @ zc.T
    reg = _sub_gram(m, fit.features).copy()
    idx = np.arange(k)
    reg[:, idx, idx] += fit.alpha
    bread = np.linalg.pinv(reg)
    var = np.einsum("pij,pjk,pki->pi", bread, meat, bread)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(fit.coef) / np.sqrt(np.maximum(var, 1e-300))
