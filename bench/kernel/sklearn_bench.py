#!/usr/bin/python3
"""scikit-learn side of bench/kernel (run by run.sh after the Go program).

Reads results.json and the data the Go program wrote to DIR, times the same
computations with scikit-learn (median of the same number of runs), checks
that the two agree, and prints the comparison table.

Usage: /usr/bin/python3 sklearn_bench.py DIR
"""
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.decomposition import KernelPCA
from sklearn.kernel_ridge import KernelRidge

sys.path.insert(0, "bench")
from emit import emit  # noqa: E402  (a row of `make bench`; no-op unless $BENCH_JSONL is set)


def load(d, name, shape):
    return np.fromfile(os.path.join(d, name), dtype="<f8").reshape(shape)


def median_time(reps, f):
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), times, out


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
                         for i in threadpool_info() if i.get("user_api") == "blas")
    except Exception as e:  # threadpoolctl is a sklearn dependency, but be safe
        return f"unknown ({e})"


def main():
    d = sys.argv[1]
    r = json.load(open(os.path.join(d, "results.json")))
    reps = r["reps"]
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, BLAS: {blas_info()}")
    print(f"trustml backend: {r['backend']}, GOMAXPROCS {r['gomaxprocs']}; median of {reps} runs\n")
    rows = []
    for c in r["krr"] or []:
        n, dd, m = c["N"], c["D"], c["M"]
        X, y = load(d, c["x_file"], (n, dd)), load(d, c["y_file"], (n,))
        Xt, yt = load(d, c["xt_file"], (m, dd)), load(d, c["yt_file"], (m,))
        go_pred = load(d, c["pred_file"], (m,))

        def fit_predict():
            return KernelRidge(alpha=c["lambda"], kernel="rbf", gamma=c["gamma"]).fit(X, y).predict(Xt)

        med, times, pred = median_time(reps, fit_predict)
        diff = np.max(np.abs(pred - go_pred)) / np.max(np.abs(pred))
        mse_sk = float(np.mean((pred - yt) ** 2))
        rows.append((f"KRR rbf fit+predict n={n} d={dd} m={m}", c["median_s"], med,
                     f"test MSE go {c['test_mse']:.5f} sk {mse_sk:.5f}; max rel pred diff {diff:.1e}"))
    for c in r["kpca"] or []:
        n, dd, m, q = c["N"], c["D"], c["M"], c["components"]
        X, Xt = load(d, c["x_file"], (n, dd)), load(d, c["xt_file"], (m, dd))
        go_proj = load(d, c["proj_file"], (m, q))

        def fit_transform():
            return KernelPCA(n_components=q, kernel="rbf", gamma=c["gamma"]).fit(X).transform(Xt)

        med, times, proj = median_time(reps, fit_transform)
        # Components are defined up to sign.
        signs = np.sign(np.sum(proj * go_proj, axis=0))
        diff = np.max(np.abs(proj - go_proj * signs)) / np.max(np.abs(proj))
        rows.append((f"KPCA rbf fit+transform n={n} d={dd} q={q} m={m}", c["median_s"], med,
                     f"max rel projection diff (up to sign) {diff:.1e}"))
    w = max(len(r_[0]) for r_ in rows)
    print(f"{'task':<{w}}  {'trustml s':>10}  {'sklearn s':>10}  {'speed-up':>8}  agreement")
    engine = "openblas" if r["backend"].startswith("openblas") else "pure-go"
    for name, go_t, sk_t, note in rows:
        print(f"{name:<{w}}  {go_t:>10.3f}  {sk_t:>10.3f}  {sk_t / go_t:>7.2f}x  {note}")
        emit("kernel", name.split(" d=")[0], engine, go_t, "scikit-learn", sk_t, "s",
             higher_is_better=False, goal=3 if name.startswith("KRR rbf fit+predict n=10000") else None,  # issue 19's size
             note=note)
    for sr in r["seam"]:
        emit("kernel", f"Cholesky {sr['n']} rate / DGEMM rate", engine, sr["chol_gflops"], "own DGEMM",
             sr["gemm_gflops"], "GFLOP/s", goal=0.8)
        print(f"\nseam ({r['backend']}): DGEMM {sr['n']}: {sr['gemm_gflops']:.1f} GFLOP/s, "
              f"Cholesky {sr['n']}: {sr['chol_gflops']:.1f} GFLOP/s "
              f"({100 * sr['chol_gflops'] / sr['gemm_gflops']:.0f}% of DGEMM); mixed-precision SPD solve "
              f"{sr['mixed_solve_gflops']:.1f} GFLOP/s float64-equivalent")


if __name__ == "__main__":
    main()
