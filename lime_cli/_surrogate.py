"""Batched weighted linear surrogates.

Every surrogate of a chunk is solved from its weighted second moments: for
problem p (one instance and one label) with representation Z (S, d), weights
w (S,) and target y (S,), the weighted-centred Gram matrix A = Zc' W Zc, the
vector b = Zc' W yc and the scalar c = yc' W yc determine every least-squares
fit on any subset of the columns.  One batched matrix product computes them
for all problems; feature selection and the final ridge fit then work on
(d, d) matrices only, never on the samples again.

This reproduces lime's surrogate exactly in exact arithmetic: forward
selection by unpenalized weighted R², 'highest weights' by a ridge with
alpha 0.01, the lasso path, and a final ridge with alpha 1 and an intercept,
scored by weighted R².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SELECTIONS = ("auto", "forward", "highest", "lasso", "none")


@dataclass
class Moments:
    """Weighted moments of P problems sharing nothing but their sizes."""

    A: np.ndarray  # (P, d, d) weighted-centred Gram matrix of Z
    b: np.ndarray  # (P, d)    weighted-centred cross moments of Z and y
    c: np.ndarray  # (P,)      weighted-centred sum of squares of y
    z_mean: np.ndarray  # (P, d) weighted mean of Z
    y_mean: np.ndarray  # (P,)   weighted mean of y
    n_samples: int


def moments(Z: np.ndarray, w: np.ndarray, Y: np.ndarray) -> Moments:
    """Moments for B instances and L labels each: P = B * L problems.

    ``Z`` is (B, S, d), ``w`` (B, S) and ``Y`` (B, S, L); problem ``b * L + l``
    is instance b with label l.
    """
    B, S, d = Z.shape
    L = Y.shape[2]
    A = np.empty((B, d, d))
    bxy = np.empty((B, d, L))
    c = np.empty((B, L))
    z_mean = np.empty((B, d))
    y_mean = np.empty((B, L))
    # one BLAS product per instance: the same operations whatever the chunk holds
    for i in range(B):
        wi, zi = w[i], Z[i]
        sw = wi.sum()
        z_mean[i] = wi @ zi / sw
        y_mean[i] = wi @ Y[i] / sw
        yc = Y[i] - y_mean[i]
        zw = zi * wi[:, None]
        A[i] = zw.T @ zi - sw * np.outer(z_mean[i], z_mean[i])
        bxy[i] = zw.T @ yc
        c[i] = wi @ (yc * yc)
    A = 0.5 * (A + A.transpose(0, 2, 1))
    rep = np.repeat
    return Moments(
        A=rep(A, L, axis=0),
        b=bxy.transpose(0, 2, 1).reshape(B * L, d),
        c=c.reshape(B * L),
        z_mean=rep(z_mean, L, axis=0),
        y_mean=y_mean.reshape(B * L),
        n_samples=S,
    )


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

    The sweep operator on [[A, b], [b', c]] keeps, after each pick, the
    moments of every column and of y residualized on the picked columns; the
    R² gain of candidate j is then b_j**2 / A_jj.
    """
    P, d = m.b.shape
    M = np.empty((P, d + 1, d + 1))
    M[:, :d, :d] = m.A
    M[:, :d, d] = m.b
    M[:, d, :d] = m.b
    M[:, d, d] = m.c
    diag_idx = np.arange(d)
    tol = 1e-10 * np.maximum(np.diagonal(m.A, axis1=1, axis2=2), 1e-300)
    used = np.zeros((P, d), dtype=bool)
    chosen = np.empty((P, k), dtype=np.intp)
    rows = np.arange(P)
    for step in range(k):
        diag = M[:, diag_idx, diag_idx]
        ok = diag > tol
        gain = np.where(ok, M[:, :d, d] ** 2 / np.where(ok, diag, 1.0), 0.0)
        gain[used] = -np.inf
        j = np.argmax(gain, axis=1)
        chosen[:, step] = j
        used[rows, j] = True
        pivot = M[rows, j, j]
        scale = np.where(ok[rows, j], 1.0 / np.where(ok[rows, j], pivot, 1.0), 0.0)
        r = M[rows, j, :]  # (P, d+1); M is symmetric
        M -= scale[:, None, None] * r[:, :, None] * r[:, None, :]
        M[rows, j, :] = 0.0
        M[rows, :, j] = 0.0
    return chosen


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


def _ridge(A: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    d = A.shape[-1]
    reg = A + alpha * np.eye(d)
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


def fit(m: Moments, features: np.ndarray, z0: np.ndarray, alpha: float = 1.0) -> Fit:
    """Ridge with intercept on the selected features, as lime's final model."""
    P = len(features)
    rows = np.arange(P)[:, None]
    A = m.A[rows[:, :, None], features[:, :, None], features[:, None, :]]
    b = m.b[rows, features]
    beta = _ridge(A, b, alpha)
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
    return Fit(features=features, coef=beta, intercept=intercept, local_prediction=local, score=score)
