#!/usr/bin/python3
"""Reference values for analysis/'s STEP and PRE tests, computed with NumPy by
the definitions, independently of the C++ code:

  matrix_profile_reference.json   brute-force matrix profiles (every pair of
                                  subsequences, plain Euclidean distance,
                                  stumpy's exclusion zone), FLUSS's corrected
                                  arc curve and regime locations (stumpy's
                                  _nnmark / _cac / _rea, with the analytic
                                  idealised arc curve 2 i (k - i) / k)
  kernel_ridge_reference.json     kernel ridge regression in closed form:
                                  standardised features (population std),
                                  centred target, c = (K + alpha I)^-1 (y - mean),
                                  and its k-fold cross-validated predictions;
                                  a seeded fold assignment (Fisher-Yates on
                                  SplitMix64, as kernel_ridge.h documents)

stumpy is not packaged in Debian, so this re-states its algorithms in NumPy.
Run with Debian's interpreter (it has python3-numpy):
    /usr/bin/python3 src/wattlab/analysis/testdata/estimation_reference.py
"""
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def matrix_profile(x, m):
    k = len(x) - m + 1
    excl = math.ceil(m / 4)
    subs = np.array([x[i:i + m] for i in range(k)])
    distance = np.empty(k)
    index = np.empty(k, dtype=np.int64)
    for i in range(k):
        d = np.sqrt(((subs - subs[i]) ** 2).sum(axis=1))
        d[max(0, i - excl):min(k, i + excl + 1)] = np.inf
        index[i] = int(np.argmin(d))  # first minimum: ties go to the smallest index
        distance[i] = d[index[i]]
    return distance, index


def corrected_arc_curve(index, m, excl_factor):
    k = len(index)
    marks = np.zeros(k + 1)
    i = np.arange(k)
    np.add.at(marks, np.minimum(i, index), 1)
    np.add.at(marks, np.maximum(i, index), -1)
    arcs = np.cumsum(marks)[:k]
    ideal = 2.0 * i * (k - i) / k
    ideal[ideal == 0] = 1e-10
    cac = np.minimum(arcs / ideal, 1.0)
    edge = min(k, m * excl_factor)
    cac[:edge] = 1.0
    cac[k - edge:] = 1.0
    return cac


def regime_locations(cac, n_regimes, m, excl_factor):
    tmp = cac.copy()
    locs = []
    for _ in range(n_regimes - 1):
        at = int(np.argmin(tmp))
        locs.append(at)
        tmp[max(at - excl_factor * m, 0):min(at + excl_factor * m, len(tmp))] = 1.0
    return locs


def matrix_profile_cases():
    rng = np.random.default_rng(20240516)
    step = np.concatenate([12.0 + 0.3 * rng.standard_normal(140), 9.0 + 0.3 * rng.standard_normal(160)])
    t = np.arange(320)
    sawtooth = 20 + 4 * np.sign(np.sin(2 * np.pi * t / 40)) + 0.5 * rng.standard_normal(320)
    sawtooth[:90] += np.linspace(6, 0, 90)  # a warm-up that fades into the periodic regime
    ramp = np.concatenate([np.linspace(5, 15, 100), np.full(150, 15.0)]) + 0.2 * rng.standard_normal(250)
    three = np.concatenate([30 + rng.standard_normal(100), 24 + rng.standard_normal(100), 27 + rng.standard_normal(100)])
    cases = []
    for name, x, m, excl, regimes in [("step", step, 16, 1, 2), ("sawtooth-warmup", sawtooth, 20, 1, 2),
                                      ("ramp-plateau", ramp, 12, 2, 2), ("three-levels", three, 10, 2, 3)]:
        distance, index = matrix_profile(x, m)
        cac = corrected_arc_curve(index, m, excl)
        cases.append({"name": name, "window": m, "exclusion_factor": excl, "n_regimes": regimes,
                      "series": x.tolist(), "distance": distance.tolist(), "index": index.tolist(),
                      "cac": cac.tolist(), "regime_locations": regime_locations(cac, regimes, m, excl)})
    return cases


def kernel_ridge_fit_predict(X, y, Xq, alpha, gamma):
    mean = X.mean(axis=0)
    scale = X.std(axis=0)  # population std, as sklearn's StandardScaler
    scale[scale == 0] = 1.0
    Z, Zq = (X - mean) / scale, (Xq - mean) / scale
    sq = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(axis=2)
    K = np.exp(-gamma * sq)
    y_mean = y.mean()
    coef = np.linalg.solve(K + alpha * np.eye(len(y)), y - y_mean)
    sq_q = ((Zq[:, None, :] - Z[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-gamma * sq_q) @ coef + y_mean, coef


MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def assign_folds(groups, k, seed):
    distinct = list(dict.fromkeys(groups))
    order = list(range(len(distinct)))
    state = seed
    for i in range(len(order) - 1, 0, -1):
        bound = i + 1
        limit = MASK - (MASK % bound)
        while True:
            state, r = splitmix64(state)
            if r < limit:
                break
        j = r % bound
        order[i], order[j] = order[j], order[i]
    fold_of = {distinct[g]: pos % k for pos, g in enumerate(order)}
    return [fold_of[g] for g in groups]


def kernel_ridge_cases():
    rng = np.random.default_rng(7)
    n, d = 24, 4
    X = rng.uniform(-2, 3, size=(n, d))
    X[:, 3] = 5.0  # a constant column: its scale must fall back to 1
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - X[:, 2] + 0.05 * rng.standard_normal(n)
    Xq = rng.uniform(-2, 3, size=(6, d))
    Xq[:, 3] = 5.0
    cases = []
    for alpha, gamma in [(0.1, 0.25), (1e-3, 1.0), (2.0, 0.05)]:
        pred, coef = kernel_ridge_fit_predict(X, y, Xq, alpha, gamma)
        folds = np.arange(n) % 4
        cv = np.empty(n)
        for f in range(4):
            train, test = folds != f, folds == f
            cv[test], _ = kernel_ridge_fit_predict(X[train], y[train], X[test], alpha, gamma)
        cases.append({"alpha": alpha, "gamma": gamma, "dual_coef": coef.tolist(), "predictions": pred.tolist(),
                      "folds": folds.tolist(), "cv_predictions": cv.tolist()})
    groups = ["config-%d" % (i // 3) for i in range(40)]
    fold_cases = [{"groups": groups, "k": 5, "seed": seed, "folds": assign_folds(groups, 5, seed)}
                  for seed in (42, 43, 2**64 - 1)]
    return {"X": X.tolist(), "y": y.tolist(), "X_query": Xq.tolist(), "cases": cases, "fold_assignments": fold_cases}


def main():
    with open(os.path.join(HERE, "matrix_profile_reference.json"), "w") as f:
        json.dump({"cases": matrix_profile_cases()}, f, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "kernel_ridge_reference.json"), "w") as f:
        json.dump(kernel_ridge_cases(), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
