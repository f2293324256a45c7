// Command ood times the post-hoc OoD detectors of package ood on the
// default model (zoo.Default, the embedded Fashion-MNIST CNN):
//
//   - the model's forward time per input (logits, and penultimate
//     features, batches of 256);
//   - each detector's scoring throughput on precomputed logits and
//     features (what it adds to a forward pass the classifier makes
//     anyway), and that scoring time per input as a percentage of the
//     forward time (ODIN, which needs its own forward and backward passes,
//     is timed on raw inputs; gradknn is left out: a backward pass per
//     input);
//   - the fit time of the KPCA detector with random Fourier features and
//     with Nyström features against exact kernel PCA (kernel.KPCA with the
//     cosine-Gaussian kernel, the same γ and number of components as the
//     RFF detector selects) at the same n.
//
// Every time is the median over -reps repetitions.
//
//	go run ./bench/ood -reps 5 -n-fit 10000 -n-score 2000 -n-kpca 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/bench/internal/benchrow"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/ood"
	"github.com/trustml/trustml/zoo"
)

func main() {
	reps := flag.Int("reps", 5, "repetitions (medians are reported)")
	nFit := flag.Int("n-fit", 10000, "ID training images the detectors are fit on")
	nScore := flag.Int("n-score", 2000, "test images scored")
	nKPCA := flag.Int("n-kpca", 2000, "training features of the KPCA fit-time comparison")
	altM := flag.String("rff-m", "512,256", "extra kpca-cos-rff rows with these numbers of random features (comma-separated; empty for none)")
	flag.Parse()
	var ms []int
	for _, f := range strings.Split(*altM, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		m, err := strconv.Atoi(f)
		if err != nil || m < 1 {
			fmt.Fprintf(os.Stderr, "bench/ood: -rff-m: %q is not a positive integer\n", f)
			os.Exit(2)
		}
		ms = append(ms, m)
	}
	if err := run(context.Background(), *reps, *nFit, *nScore, *nKPCA, ms); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ood:", err)
		os.Exit(1)
	}
}

func median(f func() error, reps int) (float64, error) {
	ts := make([]float64, 0, reps)
	for range reps {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts = append(ts, time.Since(t0).Seconds())
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}

func first(d *data.Dataset, n int) (*data.Dataset, error) {
	if n < 1 || n > d.Len() {
		return nil, fmt.Errorf("%d images requested of %s, which has %d", n, d.Name, d.Len())
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return d.Subset(idx), nil
}

func run(ctx context.Context, reps, nFit, nScore, nKPCA int, rffMs []int) error {
	if reps < 1 {
		return fmt.Errorf("-reps %d: want ≥ 1", reps)
	}
	net, _, err := zoo.Default()
	if err != nil {
		return err
	}
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		return err
	}
	te, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		return err
	}
	if tr, err = first(tr, nFit); err != nil {
		return err
	}
	if te, err = first(te, nScore); err != nil {
		return err
	}
	if nKPCA < 2 || nKPCA > nFit {
		return fmt.Errorf("-n-kpca %d: want 2 to -n-fit %d", nKPCA, nFit)
	}
	fmt.Printf("machine: %d cores (GOMAXPROCS %d), %s; model %s, %d fit / %d scored images, %d reps (medians)\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOARCH, zoo.DefaultName, nFit, nScore, reps)

	// Forward time per input.
	var logits, feats []float32
	fwd, err := median(func() error {
		in := ood.NewInputs(te.X, nil)
		logits, err = in.Logits(ctx, net)
		return err
	}, reps)
	if err != nil {
		return err
	}
	featT, err := median(func() error {
		in := ood.NewInputs(te.X, nil)
		feats, _, err = in.Features(ctx, net)
		return err
	}, reps)
	if err != nil {
		return err
	}
	perFwd := fwd / float64(nScore)
	fmt.Printf("forward (logits): %.1f µs/input (%.0f inputs/s); penultimate features: %.1f µs/input\n\n",
		1e6*perFwd, 1/perFwd, 1e6*featT/float64(nScore))
	trIn := ood.NewInputs(tr.X, tr.Y)
	trLogits, err := trIn.Logits(ctx, net)
	if err != nil {
		return err
	}
	trFeats, _, err := trIn.Features(ctx, net)
	if err != nil {
		return err
	}

	// Scoring throughput of each detector.
	fmt.Printf("%-24s %10s %14s %12s %12s\n", "DETECTOR", "FIT s", "SCORE µs/in", "INPUTS/s", "% FORWARD")
	var rffQ int
	type row struct {
		label string
		det   ood.Detector
	}
	var rows []row
	for _, name := range ood.Names() {
		if name == "gradknn" {
			continue
		}
		det, err := ood.New(name, ood.Config{Seed: 1})
		if err != nil {
			return err
		}
		rows = append(rows, row{name, det})
	}
	for _, m := range rffMs {
		rows = append(rows, row{fmt.Sprintf("kpca-cos-rff M=%d", m), &ood.KPCA{Map: "cos-rff", M: m, Seed: 1}})
	}
	for _, rw := range rows {
		name, det := rw.det.Name(), rw.det
		fitIn := ood.NewFeatureInputs(trLogits, trFeats, tr.Y)
		scoreIn := func() *ood.Inputs { return ood.NewFeatureInputs(logits, feats, nil) }
		label := rw.label
		if name == "odin" { // needs input gradients: score raw inputs
			fitIn = trIn
			scoreIn = func() *ood.Inputs { return ood.NewInputs(te.X, nil) }
			label = name + " (raw inputs)"
		}
		t0 := time.Now()
		if err := det.Fit(ctx, net, fitIn); err != nil {
			return fmt.Errorf("fit %s: %w", name, err)
		}
		fitS := time.Since(t0).Seconds()
		if k, ok := det.(*ood.KPCA); ok && rw.label == "kpca-cos-rff" {
			rffQ = k.Components()
		}
		dst := make([]float64, nScore)
		s, err := median(func() error { return det.Score(ctx, net, dst, scoreIn()) }, reps)
		if err != nil {
			return fmt.Errorf("score %s: %w", name, err)
		}
		per := s / float64(nScore)
		fmt.Printf("%-24s %10.3f %14.2f %12.0f %11.2f%%\n", label, fitS, 1e6*per, 1/per, 100*per/perFwd)
		benchrow.Emit(benchrow.Row{Suite: "ood", Case: label + " scoring cost", Engine: "trustml (" + linalg.Backend() + ")",
			Value: 1e6 * per, Peer: "the model's forward pass", PeerValue: 1e6 * perFwd, Unit: "µs/input"})
	}

	// KPCA fit time: RFF and Nyström vs exact kernel PCA at the same n.
	d := len(trFeats) / nFit
	fitFeats := trFeats[:nKPCA*d]
	fitLogits := trLogits[:nKPCA*net.NumClasses()]
	fitIn := func() *ood.Inputs { return ood.NewFeatureInputs(fitLogits, fitFeats, nil) }
	rff := &ood.KPCA{Map: "cos-rff", Seed: 1}
	rffS, err := median(func() error { return rff.Fit(ctx, net, fitIn()) }, reps)
	if err != nil {
		return fmt.Errorf("fit kpca-cos-rff: %w", err)
	}
	nys := &ood.KPCA{Map: "cos-nystrom", Seed: 1}
	nysS, err := median(func() error { return nys.Fit(ctx, net, fitIn()) }, reps)
	if err != nil {
		return fmt.Errorf("fit kpca-cos-nystrom: %w", err)
	}
	q := rff.Components()
	if rffQ == 0 {
		rffQ = q
	}
	X := mat.NewDense(nKPCA, d, nil)
	for i := range nKPCA {
		for j := range d {
			X.Set(i, j, float64(fitFeats[i*d+j]))
		}
	}
	exact := &kernel.KPCA{Kernel: kernel.CosineGaussian{Gamma: 1}, Components: q}
	exactS, err := median(func() error { return exact.Fit(ctx, X) }, reps)
	if err != nil {
		return fmt.Errorf("fit exact kernel PCA: %w", err)
	}
	Xt := mat.NewDense(nScore, d, nil)
	for i := range nScore {
		for j := range d {
			Xt.Set(i, j, float64(feats[i*d+j]))
		}
	}
	exactScore, err := median(func() error { _, err := exact.ReconstructionError(Xt); return err }, reps)
	if err != nil {
		return fmt.Errorf("score exact kernel PCA: %w", err)
	}
	fmt.Printf("\nKPCA fit at n = %d, d = %d (γ = 1, q = %d components for exact; eigensolver %s):\n", nKPCA, d, q, exact.EigensolverUsed())
	fmt.Printf("  %-34s %9s %14s\n", "METHOD", "FIT s", "EXACT / THIS")
	fmt.Printf("  %-34s %9.3f %14.1f\n", "exact kernel.KPCA cosine-Gaussian", exactS, 1.0)
	fmt.Printf("  %-34s %9.3f %14.1f\n", "RFF (M = 1024), q = "+fmt.Sprint(rff.Components()), rffS, exactS/rffS)
	fmt.Printf("  %-34s %9.3f %14.1f\n", "Nyström (M = 256), q = "+fmt.Sprint(nys.Components()), nysS, exactS/nysS)
	per := exactScore / float64(nScore)
	fmt.Printf("exact KPCA scoring (reconstruction error, n = %d): %.2f µs/input, %.1f%% of forward\n", nKPCA, 1e6*per, 100*per/perFwd)
	return nil
}
