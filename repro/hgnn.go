package repro

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/hgnn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/zoo"
)

const (
	hgnnPaper  = "Residual Enhanced Multi-Hypergraph Neural Network (ResMHGNN; Huang, Huang, Yang, ICIP 2021)"
	hgnnSource = "ResMHGNN paper: tables not in paper-numbers.md"
	hgnnProto  = "NTU2012 and ModelNet40 3-D objects, two modalities (MVCNN and GVCNN features), one k-NN (k = 10) hypergraph per modality; full and balanced subsets of the training labels; HGNN on concatenated hyperedges vs MultiHGNN, ResHGNN, ResMHGNN, depth 2 and deeper"
)

// HGNNConfig configures [HGNN], the ResMHGNN reproduction.
type HGNNConfig struct {
	// Data names the node sets: an image set (fashion-mnist-small, the
	// default's test images; views are penultimate features of the
	// embedded fashion-cnn and fashion-resnet8 and 2×2-pooled pixels) or
	// an embedded tabular classification set (views are contiguous blocks
	// of its features).
	Data []string `flag:"data" help:"node sets: fashion-mnist-small (views: fashion-cnn and fashion-resnet8 features, pooled pixels) or tabular sets (views: feature blocks)"`
	// Nodes caps the number of nodes of a set: the first images of an
	// image set's test split, a random subset (fixed seed) of a tabular
	// set's rows.
	Nodes int `flag:"nodes" help:"nodes per set (at most): an image set's first test images, a tabular set's random rows"`
	// Labels are the numbers of labeled nodes per class.
	Labels []int `flag:"labels" help:"labeled nodes per class"`
	// Seeds is the number of label draws (and initializations) per setting.
	Seeds int `flag:"seeds" help:"label draws per setting"`
	// Seed is the base seed: draw r uses Seed+r.
	Seed uint64 `flag:"seed" help:"base seed; draw r uses seed+r"`
	// K is the number of neighbours of each k-NN hyperedge.
	K int `flag:"k" help:"neighbours per k-NN hyperedge"`
	// Epochs is the number of full-batch Adam epochs of every network.
	Epochs int `flag:"epochs" help:"training epochs"`
	// Hidden is the width of every network's hidden layers.
	Hidden int `flag:"hidden" help:"hidden width"`
	// Deep, if at least 3, adds rows for HGNN and ResMHGNN with that many
	// convolutions (the over-smoothing comparison).
	Deep int `flag:"deep" help:"convolutions of the deep HGNN/ResMHGNN rows (0: none)"`
	// Progress, if set, receives one update per trained network.
	Progress progress.Reporter
}

// DefaultHGNNConfig is the configuration of `trustml repro hgnn`.
func DefaultHGNNConfig() HGNNConfig {
	return HGNNConfig{Data: []string{data.DefaultName, "digits", "breast-cancer"}, Nodes: 1000,
		Labels: []int{5, 20}, Seeds: 3, Seed: 1, K: 10, Epochs: 100, Hidden: 32, Deep: 8}
}

// hgnnViews is a node set with its views.
type hgnnViews struct {
	names []string
	x     []*mat.Dense
	y     []int
	nc    int
	what  string // the views, for the protocol
}

// HGNN compares ResMHGNN ([hgnn.Train] with [hgnn.ResHGNN] branches, one
// per view) with HGNN on each view's hypergraph, HGNN and ResHGNN on the
// concatenated hyperedges and features (HGNN's multi-modal recipe),
// MultiHGNN (HGNN branches) and an MLP on the concatenated features, in
// semi-supervised node classification: a few labels per class, accuracy
// on all other nodes, mean ± sd over label draws. Hyperedges: each node
// with its K nearest neighbours (standardized features of the view) plus a
// self loop, as the authors' code.
func HGNN(ctx context.Context, cfg HGNNConfig) (*Table, error) {
	def := DefaultHGNNConfig()
	cfg.Nodes, cfg.Seeds = cmp.Or(cfg.Nodes, def.Nodes), cmp.Or(cfg.Seeds, def.Seeds)
	cfg.K, cfg.Epochs, cfg.Hidden = cmp.Or(cfg.K, def.K), cmp.Or(cfg.Epochs, def.Epochs), cmp.Or(cfg.Hidden, def.Hidden)
	if len(cfg.Data) == 0 {
		cfg.Data = def.Data
	}
	if len(cfg.Labels) == 0 {
		cfg.Labels = def.Labels
	}
	switch {
	case cfg.Seeds < 1 || cfg.Nodes < 2 || cfg.K < 1 || cfg.Epochs < 1 || cfg.Hidden < 1:
		return nil, fmt.Errorf("repro hgnn: seeds %d, k %d, epochs %d and hidden %d must be at least 1, nodes %d at least 2", cfg.Seeds, cfg.K, cfg.Epochs, cfg.Hidden, cfg.Nodes)
	case cfg.Deep != 0 && cfg.Deep < 3:
		return nil, fmt.Errorf("repro hgnn: --deep %d: want 0 (no deep rows) or at least 3", cfg.Deep)
	}
	for _, l := range cfg.Labels {
		if l < 1 {
			return nil, fmt.Errorf("repro hgnn: %d labels per class, want at least 1", l)
		}
	}
	mc := hgnn.DefaultConfig()
	mc.Epochs, mc.Hidden = cfg.Epochs, cfg.Hidden
	t := &Table{
		Paper: hgnnPaper,
		Protocol: fmt.Sprintf("transductive node classification, %v labels per class drawn %d times (seed %d+r), accuracy on all unlabeled nodes; k-NN hyperedges (k = %d) + self loops per view on z-scored features; networks: hidden %d, dropout %g, %d full-batch Adam epochs (lr %g, weight decay %g), 2 convolutions unless stated, ResHGNN α %g, λ %g; branch outputs fused by averaging log-softmax",
			cfg.Labels, cfg.Seeds, cfg.Seed, cfg.K, mc.Hidden, mc.Dropout, mc.Epochs, mc.LR, mc.WeightDecay, mc.Alpha, mc.Lambda),
		Claim: "fusing one hypergraph per modality (MultiHGNN) beats HGNN on concatenated hyperedges, residual convolutions (ResHGNN) beat plain ones and keep their accuracy when layers are stacked while HGNN's drops; ResMHGNN, both combined, is best",
		Notes: []string{
			"the paper's NTU2012/ModelNet40 features are not here; Fashion-MNIST test images with features of two of our models, and tabular sets with feature blocks as views, stand in",
			"the paper's numbers are not public in text form here (not in paper-numbers.md): compare directions, not values",
			"ResHGNN here propagates the previous layer's output (GCNII, the paper's equation); the authors' code propagates the input representation at every layer",
		},
	}
	start := time.Now()
	defer func() { t.Seconds = time.Since(start).Seconds() }()
	rep := progress.Or(cfg.Progress)
	for _, name := range cfg.Data {
		if err := ctx.Err(); err != nil {
			return t, err
		}
		v, err := hgnnLoad(ctx, name, cfg.Nodes)
		if err == nil {
			err = hgnnSet(ctx, t, name, v, cfg, mc, rep)
		}
		if err != nil {
			if ctx.Err() != nil {
				return t, ctx.Err()
			}
			t.Failed = append(t.Failed, fmt.Sprintf("%s: %v", name, err))
		}
	}
	return t, nil
}

// hgnnLoad opens a node set and builds its views (z-scored features).
func hgnnLoad(ctx context.Context, name string, nodes int) (*hgnnViews, error) {
	d, err := data.Open(name, data.Test, "")
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if !d.IsLabeled() {
		return nil, fmt.Errorf("%s has no class labels (node classification needs them)", name)
	}
	v := &hgnnViews{nc: len(d.Classes)}
	switch {
	case d.Len() <= nodes:
	case len(d.Shape) == 3:
		d = d.Head(nodes) // the embedded test images are in stratified-shuffled order
	default:
		idx := rand.New(rand.NewPCG(0x6e6f646573, 0)).Perm(d.Len())[:nodes]
		slices.Sort(idx)
		d = d.Subset(idx)
	}
	if len(d.Shape) == 3 {
		if d.Shape[0] != 1 || d.Shape[1]%2 != 0 || d.Shape[2]%2 != 0 {
			return nil, fmt.Errorf("%s: images of shape %v; the image views need one channel of even height and width", name, d.Shape)
		}
		for _, model := range []string{"fashion-cnn", "fashion-resnet8"} {
			net, _, err := zoo.OpenNetwork(model)
			if err != nil {
				return nil, err
			}
			f := net.FeatureDim()
			dst := make([]float32, d.Len()*f)
			if err := net.Features(ctx, dst, d.X); err != nil {
				return nil, fmt.Errorf("%s features: %w", model, err)
			}
			v.add(model+" features", dst, d.Len(), f)
		}
		h, w := d.Shape[1], d.Shape[2]
		pooled := make([]float32, 0, d.Len()*h*w/4)
		for i := range d.Len() {
			img := d.Row(i)
			for r := 0; r < h; r += 2 {
				for c := 0; c < w; c += 2 {
					pooled = append(pooled, (img[r*w+c]+img[r*w+c+1]+img[(r+1)*w+c]+img[(r+1)*w+c+1])/4)
				}
			}
		}
		v.add("pixels (2×2 pooled)", pooled, d.Len(), h*w/4)
		v.what = "fashion-cnn features, fashion-resnet8 features, 2×2-pooled pixels"
	} else {
		dim := d.SampleSize()
		blocks := 2
		if name == "breast-cancer" {
			blocks = 3 // mean, standard error and worst of each measurement
		}
		if dim < blocks {
			return nil, fmt.Errorf("%s has %d features, fewer than %d views", name, dim, blocks)
		}
		for b := range blocks {
			lo, hi := b*dim/blocks, (b+1)*dim/blocks
			x := make([]float32, 0, d.Len()*(hi-lo))
			for i := range d.Len() {
				x = append(x, d.Row(i)[lo:hi]...)
			}
			v.add(fmt.Sprintf("features %d–%d", lo+1, hi), x, d.Len(), hi-lo)
		}
		v.what = fmt.Sprintf("%d contiguous feature blocks", blocks)
	}
	v.y = d.Y
	return v, nil
}

// add appends a view, z-scoring each column (constant columns become 0).
func (v *hgnnViews) add(name string, x []float32, n, d int) {
	m := mat.NewDense(n, d, nil)
	for j := range d {
		var mean, sq float64
		for i := range n {
			mean += float64(x[i*d+j])
		}
		mean /= float64(n)
		for i := range n {
			sq += (float64(x[i*d+j]) - mean) * (float64(x[i*d+j]) - mean)
		}
		sd := math.Sqrt(sq / float64(n))
		for i := range n {
			if sd > 1e-12 {
				m.Set(i, j, (float64(x[i*d+j])-mean)/sd)
			}
		}
	}
	v.names, v.x = append(v.names, name), append(v.x, m)
}

// hgnnMethod is one row's network: an architecture, its depth and the
// views it sees (several: one branch each; concat: one branch on the
// joined hyperedges and features).
type hgnnMethod struct {
	name   string
	arch   hgnn.Arch
	layers int
	views  []int // indices of the views, or nil for all
	concat bool
}

// hgnnSet runs every method on one node set and appends its rows.
func hgnnSet(ctx context.Context, t *Table, name string, v *hgnnViews, cfg HGNNConfig, mc hgnn.Config, rep progress.Reporter) error {
	n, _ := v.x[0].Dims()
	var single, hs []*hgnn.Hypergraph
	for i, x := range v.x {
		h, err := hgnn.KNN(x, min(cfg.K, n-1))
		if err != nil {
			return fmt.Errorf("view %s: %w", v.names[i], err)
		}
		single = append(single, h.WithSelfLoops())
		hs = append(hs, h)
	}
	joined, err := hgnn.Concat(hs...)
	if err != nil {
		return err
	}
	views := make([]hgnn.View, len(v.x))
	for i := range v.x {
		if views[i], err = hgnn.NewView(v.x[i], single[i]); err != nil {
			return err
		}
	}
	var xcat mat.Dense
	xcat.Augment(v.x[0], v.x[1])
	for _, x := range v.x[2:] {
		var next mat.Dense
		next.Augment(&xcat, x)
		xcat = next
	}
	catView, err := hgnn.NewView(&xcat, joined.WithSelfLoops())
	if err != nil {
		return err
	}
	methods := []hgnnMethod{{name: "MLP (concatenated features)", arch: hgnn.MLP, concat: true}}
	for i, vn := range v.names {
		methods = append(methods, hgnnMethod{name: "HGNN, " + vn, arch: hgnn.HGNN, views: []int{i}})
	}
	methods = append(methods,
		hgnnMethod{name: "HGNN, concatenated hyperedges", arch: hgnn.HGNN, concat: true},
		hgnnMethod{name: "ResHGNN, concatenated hyperedges", arch: hgnn.ResHGNN, concat: true},
		hgnnMethod{name: "MultiHGNN", arch: hgnn.HGNN},
		hgnnMethod{name: "ResMHGNN", arch: hgnn.ResHGNN})
	if cfg.Deep > 0 {
		methods = append(methods,
			hgnnMethod{name: fmt.Sprintf("HGNN, concatenated hyperedges, %d layers", cfg.Deep), arch: hgnn.HGNN, concat: true, layers: cfg.Deep},
			hgnnMethod{name: fmt.Sprintf("ResMHGNN, %d layers", cfg.Deep), arch: hgnn.ResHGNN, layers: cfg.Deep})
	}
	paper := NotPublic(hgnnSource, hgnnProto)
	differs := fmt.Sprintf("%s, %d nodes, views: %s; not NTU2012/ModelNet40 with MVCNN/GVCNN", name, n, v.what)
	for _, labels := range cfg.Labels {
		type job struct{ m, r int }
		var jobs []job
		for m := range methods {
			for r := range cfg.Seeds {
				jobs = append(jobs, job{m, r})
			}
		}
		acc := make([][]float64, len(methods))
		errs := make([]error, len(methods))
		for m := range acc {
			acc[m] = make([]float64, cfg.Seeds)
		}
		label := fmt.Sprintf("hgnn %s, %d labels/class", name, labels)
		var mu sync.Mutex
		done := 0
		work := make(chan job)
		var wg sync.WaitGroup
		for range max(1, runtime.GOMAXPROCS(0)) {
			wg.Go(func() {
				for j := range work {
					a, err := hgnnRun(ctx, methods[j.m], views, catView, v, labels, cfg.Seed+uint64(j.r), mc)
					mu.Lock()
					acc[j.m][j.r] = a
					if err != nil && errs[j.m] == nil {
						errs[j.m] = err
					}
					done++
					rep.Update(label, done, len(jobs), methods[j.m].name)
					mu.Unlock()
				}
			})
		}
		for _, j := range jobs {
			if ctx.Err() != nil {
				break
			}
			work <- j
		}
		close(work)
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		setting := fmt.Sprintf("%s, %d labels/class", name, labels)
		index := map[string]int{}
		for m, meth := range methods {
			index[meth.name] = m
			row := Row{Setting: setting, Method: meth.name, Metric: "accuracy % (unlabeled nodes)", Paper: paper, Differs: differs}
			if errs[m] != nil {
				t.Failed = append(t.Failed, fmt.Sprintf("%s, %s: %v", setting, meth.name, errs[m]))
			} else {
				row.Ours = NewStat(acc[m])
			}
			t.Rows = append(t.Rows, row)
		}
		// The paper's directions, as paired differences over the same
		// label draws.
		cat := "HGNN, concatenated hyperedges"
		pairs := [][3]string{
			{"MultiHGNN", cat, "gain over HGNN (concatenated), points; paper: > 0"},
			{"ResMHGNN", cat, "gain over HGNN (concatenated), points; paper: > 0"},
		}
		if cfg.Deep > 0 {
			pairs = append(pairs,
				[3]string{fmt.Sprintf("%s, %d layers", cat, cfg.Deep), cat, fmt.Sprintf("%d layers − 2, points; paper: < 0 (over-smoothing)", cfg.Deep)},
				[3]string{fmt.Sprintf("ResMHGNN, %d layers", cfg.Deep), "ResMHGNN", fmt.Sprintf("%d layers − 2, points; paper: ≈ 0", cfg.Deep)})
		}
		for _, p := range pairs {
			a, b := index[p[0]], index[p[1]]
			row := Row{Setting: setting, Method: p[0], Metric: p[2], Paper: paper, Differs: differs}
			if errs[a] == nil && errs[b] == nil {
				d := make([]float64, cfg.Seeds)
				for r := range d {
					d[r] = acc[a][r] - acc[b][r]
				}
				row.Ours = NewStat(d)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return nil
}

// hgnnRun trains one method on one label draw and returns its accuracy
// (%) on the unlabeled nodes.
func hgnnRun(ctx context.Context, meth hgnnMethod, views []hgnn.View, catView hgnn.View, v *hgnnViews, labels int, seed uint64, mc hgnn.Config) (float64, error) {
	labeled := hgnn.SampleLabels(v.y, labels, seed)
	mc.Arch, mc.Seed = meth.arch, seed
	if meth.layers > 0 {
		mc.Layers = meth.layers
	}
	vs := views
	switch {
	case meth.concat:
		vs = []hgnn.View{catView}
	case meth.views != nil:
		vs = nil
		for _, i := range meth.views {
			vs = append(vs, views[i])
		}
	}
	m, err := hgnn.Train(ctx, vs, v.y, labeled, v.nc, mc)
	if err != nil {
		return 0, err
	}
	return 100 * hgnn.Accuracy(m.Predict(), v.y, hgnn.Unlabeled(len(v.y), labeled)), nil
}
