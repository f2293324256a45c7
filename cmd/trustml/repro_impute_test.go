package main

import "testing"

func TestReproImpute(t *testing.T) {
	checkKernelRepro(t, "paper: per-set accuracy tables not available in text form", "impute", "--reps", "1", "--data", "iris", "--rates", "0.2")
}
