#!/bin/sh
# Imputation RMSE: scikit-learn's SimpleImputer (mean), KNNImputer (k = 5)
# and IterativeImputer beside `trustml repro impute` under the same
# protocol (not the same masks). Needs /usr/bin/python3 with scikit-learn.
# Usage: bench/impute/run.sh [reps]   (from the repository root)
set -eu
cd "$(dirname "$0")/../.."
reps=${1:-3}
echo "== scikit-learn (imputation RMSE, standardized units)"
/usr/bin/python3 bench/impute/sklearn_impute.py "$reps"
echo "== trustml repro impute"
go run ./cmd/trustml repro impute --reps "$reps" 2>/dev/null | grep -E 'RMSE|^setting'
