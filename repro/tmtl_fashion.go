package repro

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

// tmtlSuper maps the Fashion-MNIST classes to super-classes (the tasks):
// 0 tops (T-shirt, pullover, coat, shirt), 1 footwear (sandal, sneaker,
// ankle boot), 2 others (trouser, dress, bag).
var tmtlSuper = [10]int{0, 2, 0, 2, 0, 1, 0, 1, 2, 1}

// tmtlFashionProblem is one draw of the Fashion-MNIST multitask problem:
// the task (super-class) of each image is known, its class is predicted.
type tmtlFashionProblem struct {
	Xtr, Xte *mat.Dense
	ytr, yte []int
	ttr, tte [][]int
	kern     kernel.Kernel
}

// tmtlFashion draws perClass training and test images per class from the
// embedded Fashion-MNIST subset (pixels in [0, 1]) with an RBF kernel of
// γ = 1/median squared distance.
func tmtlFashion(train, test *data.Dataset, perClass int, seed uint64) (*tmtlFashionProblem, error) {
	tr, err := data.StratifiedSample(train, perClass, seed)
	if err != nil {
		return nil, err
	}
	te, err := data.StratifiedSample(test, perClass, seed+1000)
	if err != nil {
		return nil, err
	}
	p := &tmtlFashionProblem{Xtr: tr.Float64(), Xte: te.Float64(), ytr: tr.Y, yte: te.Y}
	for _, y := range tr.Y {
		p.ttr = append(p.ttr, []int{tmtlSuper[y]})
	}
	for _, y := range te.Y {
		p.tte = append(p.tte, []int{tmtlSuper[y]})
	}
	p.kern = kernel.RBF{Gamma: 1 / kernMedianSqDist(p.Xtr, rand.New(rand.NewPCG(seed, 3)))}
	return p, nil
}

// tmtlFashionRun selects γ for method mi on a validation quarter of the
// training images and returns the test accuracy of the refit.
func tmtlFashionRun(ctx context.Context, mi int, p *tmtlFashionProblem, cfg TMTLConfig, seed uint64) (float64, error) {
	n, _ := p.Xtr.Dims()
	perm := rand.New(rand.NewPCG(seed, 0x76616c)).Perm(n)
	val, fit := perm[:n/4], perm[n/4:]
	sub := func(idx []int) (*mat.Dense, []int, [][]int) {
		y := make([]int, len(idx))
		t := make([][]int, len(idx))
		for a, i := range idx {
			y[a], t[a] = p.ytr[i], p.ttr[i]
		}
		return kernRows(p.Xtr, idx), y, t
	}
	Xf, yf, tf := sub(fit)
	Xv, yv, tv := sub(val)
	best, bestAcc := 0.0, math.Inf(-1)
	for _, g := range tmtlGammas {
		pred, err := tmtlFitPredictCls(ctx, mi, g, p.kern, cfg, seed, Xf, yf, tf, Xv, tv)
		if err != nil {
			continue
		}
		if a := kernel.Accuracy(yv, pred); a > bestAcc {
			best, bestAcc = g, a
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("no γ in %v fits", tmtlGammas)
	}
	pred, err := tmtlFitPredictCls(ctx, mi, best, p.kern, cfg, seed, p.Xtr, p.ytr, p.ttr, p.Xte, p.tte)
	if err != nil {
		return 0, err
	}
	return kernel.Accuracy(p.yte, pred), nil
}

// tmtlFitPredictCls fits classification method mi and predicts labels.
func tmtlFitPredictCls(ctx context.Context, mi int, gamma float64, k kernel.Kernel, cfg TMTLConfig, seed uint64,
	X *mat.Dense, y []int, tasks [][]int, Xt *mat.Dense, tt [][]int) ([]int, error) {
	switch mi {
	case 0, 1:
		m := &kernel.TensorMTLClassifier{TensorMTL: tmtlSettings(mi, k, gamma, cfg, seed)}
		if err := m.FitTasks(ctx, X, y, tasks); err != nil {
			return nil, err
		}
		return m.PredictTasks(Xt, tt)
	case 2:
		out := make([]int, len(tt))
		for task := 0; task < 3; task++ {
			var tr, te []int
			for i, t := range tasks {
				if t[0] == task {
					tr = append(tr, i)
				}
			}
			for i, t := range tt {
				if t[0] == task {
					te = append(te, i)
				}
			}
			if len(te) == 0 {
				continue
			}
			m := &kernel.LSSVMClassifier{Kernel: k, Gamma: gamma}
			if err := m.Fit(ctx, kernRows(X, tr), kernPick(y, tr)); err != nil {
				return nil, err
			}
			pred, err := m.Predict(kernRows(Xt, te))
			if err != nil {
				return nil, err
			}
			for a, i := range te {
				out[i] = pred[a]
			}
		}
		return out, nil
	default:
		m := &kernel.LSSVMClassifier{Kernel: k, Gamma: gamma}
		if err := m.Fit(ctx, X, y); err != nil {
			return nil, err
		}
		return m.Predict(Xt)
	}
}
