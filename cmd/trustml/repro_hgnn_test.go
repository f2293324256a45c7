package main

import "testing"

func TestReproHGNN(t *testing.T) {
	checkKernelRepro(t, "ResMHGNN paper: tables not in paper-numbers.md", "hgnn", "--data", "wine", "--labels", "3", "--seeds", "1", "--epochs", "5", "--k", "3", "--deep", "0")
}
