"""The comparison for `npm run bench:analyze`: what a data scientist would write with pandas, scikit-learn
and scipy to get, per model and hourly window, accuracy, macro recall and one feature's KL divergence
against the model's first full UTC day, on the same predictions and labels the analyzers read.

Input: a CSV with a header `window_start_ms,model,predicted_class,label_class,f0`, one row per prediction
(`label_class` empty when unlabelled). The binning and smoothing are the analyzers' (deciles of the
reference at sorted index floor(level * n), open outer bins, p' = (c/n + 1e-4) / (1 + k * 1e-4)), so the
two compute the same numbers. Prints `name: value unit` lines: load time, compute time, windows, and a
checksum of the values.
"""

import math
import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import entropy
from sklearn.metrics import accuracy_score, recall_score

DAY_MS = 86_400_000
LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
EPSILON = 1e-4


def smoothed(counts: np.ndarray) -> np.ndarray:
    n = counts.sum()
    return (counts / n + EPSILON) / (1 + len(counts) * EPSILON)


def deciles(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    index = [min(len(ordered) - 1, math.floor(level * len(ordered))) for level in LEVELS]
    return np.unique(ordered[index])


def main(path: str) -> None:
    started = time.perf_counter()
    # round_trip: pandas' default float parser can be an ulp off, which moves values sitting on a bin edge.
    frame = pd.read_csv(
        path, keep_default_na=False, float_precision="round_trip", dtype={"predicted_class": str, "label_class": str}
    )
    loaded = time.perf_counter()

    windows = 0
    checksum = 0.0
    for model, rows in frame.groupby("model"):
        day_start = math.ceil(rows["window_start_ms"].min() / DAY_MS) * DAY_MS
        in_day = (rows["window_start_ms"] >= day_start) & (rows["window_start_ms"] < day_start + DAY_MS)
        reference = rows.loc[in_day, "f0"].to_numpy() if in_day.any() else rows["f0"].to_numpy()
        edges = deciles(reference)
        bins = len(edges) + 1
        reference_p = smoothed(np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins))
        for _, window in rows.groupby("window_start_ms"):
            labelled = window[window["label_class"] != ""]
            if len(labelled) > 0:
                checksum += accuracy_score(labelled["label_class"], labelled["predicted_class"])
                checksum += recall_score(
                    labelled["label_class"], labelled["predicted_class"], average="macro", zero_division=0
                )
            current = np.bincount(np.searchsorted(edges, window["f0"].to_numpy(), side="right"), minlength=bins)
            checksum += entropy(smoothed(current), reference_p)
            windows += 1
    done = time.perf_counter()

    print(f"pandas_load: {loaded - started:.2f} s")
    print(f"pandas_compute: {done - loaded:.2f} s")
    print(f"pandas_windows: {windows} windows")
    print(f"pandas_checksum: {checksum:.6f}")


if __name__ == "__main__":
    main(sys.argv[1])
