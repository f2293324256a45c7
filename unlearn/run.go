package unlearn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/zoo"
)

// Config is one unlearning run ([Run], "trustml unlearn"). Models and data
// are named by the same strings as on the command line.
type Config struct {
	Model   string `flag:"model" help:"the model to unlearn from: default, an embedded name, a checkpoint or an .onnx file (never modified)"`
	Data    string `flag:"data" help:"the model's training set (its train split is split into forget and retain sets, its test split evaluates)"`
	DataDir string `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files (default $TRUSTML_DATA, then Debian's)"`
	Method  string `flag:"method" help:"retrain, ft, ga, rl, l1, salun, sfr-on or natmu"`
	Forget  string `flag:"forget" help:"forget set: class:C, random:F or subclass:C[:bright|dark] (C a class number or name)"`
	Out     string `flag:"out" help:"write the unlearned checkpoint here (atomically; must not be the source model)"`
	// Reference is the retrained model the gap is measured to: "retrain"
	// retrains one here (Hyper's retraining settings), "none" skips the
	// gap, anything else is a model of the same architecture retrained on
	// the same retain set (no time ratio then).
	Reference string `flag:"reference" help:"gold standard for the gap: retrain (train one here), none, or a retrained checkpoint"`
	Seed      uint64 `flag:"seed" help:"seed of the random forget set, shuffling and the method"`
	Hyper
	// Net and Train/Test, when set, are used instead of Model and Data.
	Net         *nn.Network `json:"-"`
	Train, Test *data.Dataset
}

// DefaultConfig returns fine-tuning away class 3 of the embedded
// Fashion-MNIST subset from the default model, retraining for the gap.
func DefaultConfig() Config {
	return Config{Model: "default", Data: data.DefaultName, Method: "ft", Forget: "class:3", Reference: "retrain", Seed: 1, Hyper: DefaultHyper()}
}

// Report is what [Run] returns.
type Report struct {
	Model      string     `json:"model"`
	Arch       string     `json:"arch"`
	Data       string     `json:"data"`
	Method     string     `json:"method"`
	Forget     ForgetSpec `json:"forget"`
	NForget    int        `json:"n_forget"`
	NRetain    int        `json:"n_retain"`
	NTest      int        `json:"n_test"`
	NTestF     int        `json:"n_test_forgotten"`
	Original   Metrics    `json:"original"`
	Unlearned  Metrics    `json:"unlearned"`
	Retrained  *Metrics   `json:"retrained,omitempty"`
	Gap        *Gap       `json:"gap,omitempty"`
	Checkpoint string     `json:"checkpoint,omitempty"`
	// Net is the unlearned network.
	Net *nn.Network `json:"-"`
}

// Run unlearns cfg.Forget from cfg.Model with cfg.Method, measures the
// original, the unlearned and (cfg.Reference) the retrained model on the
// task, and writes the unlearned checkpoint to cfg.Out. The source model is
// only read.
func Run(ctx context.Context, cfg *Config, rep progress.Reporter) (*Report, error) {
	m, err := Lookup(cfg.Method)
	if err != nil {
		return nil, fmt.Errorf("unlearn: %w", err)
	}
	spec, err := ParseForget(cfg.Forget)
	if err != nil {
		return nil, err
	}
	if err := cfg.Hyper.check(); err != nil {
		return nil, err
	}
	src := cfg.Net
	if src == nil {
		if src, _, err = zoo.OpenNetwork(cfg.Model); err != nil {
			return nil, fmt.Errorf("unlearn: %w", err)
		}
		if err := notSameFile(cfg.Out, cfg.Model); err != nil {
			return nil, err
		}
	}
	tr, te := cfg.Train, cfg.Test
	if tr == nil || te == nil {
		if tr, err = data.Open(cfg.Data, data.Train, cfg.DataDir); err != nil {
			return nil, fmt.Errorf("unlearn: %w", err)
		}
		if te, err = data.Open(cfg.Data, data.Test, cfg.DataDir); err != nil {
			return nil, fmt.Errorf("unlearn: %w", err)
		}
	}
	for _, d := range []*data.Dataset{tr, te} {
		if err := d.CheckFits(src.InputShape(), src.NumClasses()); err != nil {
			return nil, fmt.Errorf("unlearn: model %s (%s) does not match the data: %w", cfg.Model, src.Spec().Name, err)
		}
	}
	t, err := NewTask(spec, tr, te, cfg.Seed)
	if err != nil {
		return nil, err
	}
	rpt := &Report{Model: cfg.Model, Arch: src.Spec().Name, Data: tr.Name, Method: cfg.Method, Forget: spec,
		NForget: len(t.Forget), NRetain: len(t.Retain), NTest: len(t.TestKeep), NTestF: len(t.TestForget)}
	if rpt.Original, err = Evaluate(ctx, src, t); err != nil {
		return nil, err
	}
	net, sec, err := apply(ctx, m, src, t, cfg.Hyper, cfg.Seed, rep)
	if err != nil {
		return nil, fmt.Errorf("unlearn: %s: %w", cfg.Method, err)
	}
	if rpt.Unlearned, err = Evaluate(ctx, net, t); err != nil {
		return nil, err
	}
	rpt.Unlearned.Seconds, rpt.Net = sec, net
	switch ref := cfg.Reference; {
	case ref == "none" || ref == "":
	case ref == "retrain" && cfg.Method == "retrain":
		rpt.Retrained = &rpt.Unlearned
	case ref == "retrain":
		rn, rsec, err := apply(ctx, Retrain, src, t, cfg.Hyper, cfg.Seed+1000, rep)
		if err != nil {
			return nil, fmt.Errorf("unlearn: retraining the reference: %w", err)
		}
		mt, err := Evaluate(ctx, rn, t)
		if err != nil {
			return nil, err
		}
		mt.Seconds = rsec
		rpt.Retrained = &mt
	default:
		rn, _, err := zoo.OpenNetwork(ref)
		if err != nil {
			return nil, fmt.Errorf("unlearn: --reference: %w", err)
		}
		if !rn.Spec().Equal(src.Spec()) {
			return nil, fmt.Errorf("unlearn: --reference %s is a %s, the model a %s", ref, rn.Spec().Name, src.Spec().Name)
		}
		mt, err := Evaluate(ctx, rn, t)
		if err != nil {
			return nil, err
		}
		rpt.Retrained = &mt
	}
	if rpt.Retrained != nil {
		g := rpt.Unlearned.GapTo(*rpt.Retrained)
		rpt.Gap = &g
	}
	if cfg.Out != "" {
		mj, _ := json.Marshal(rpt.Unlearned)
		meta := map[string]string{"unlearn_method": cfg.Method, "unlearn_forget": spec.Text, "unlearn_source": cfg.Model,
			"unlearn_data": tr.Name, "unlearn_metrics": string(mj), "unlearn_seed": fmt.Sprint(cfg.Seed)}
		if err := nn.SaveFile(cfg.Out, net, meta); err != nil {
			return nil, fmt.Errorf("unlearn: %w", err)
		}
		rpt.Checkpoint = cfg.Out
	}
	return rpt, nil
}

// apply runs method m on a copy of src and returns it with the seconds taken.
func apply(ctx context.Context, m Method, src *nn.Network, t *Task, h Hyper, seed uint64, rep progress.Reporter) (*nn.Network, float64, error) {
	net := src.Copy()
	start := time.Now()
	if err := m(ctx, net, t, h, rand.New(rand.NewPCG(seed, 0x0b11)), rep); err != nil {
		return nil, 0, err
	}
	return net, time.Since(start).Seconds(), nil
}

// notSameFile refuses to write the output over the source model.
func notSameFile(out, src string) error {
	if out == "" {
		return nil
	}
	a, errA := os.Stat(out)
	b, errB := os.Stat(src)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return fmt.Errorf("unlearn: --out %s is the source model %s, which is never modified; choose another file", out, src)
	}
	return nil
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

func pctp(v *float64) string {
	if v == nil {
		return "-"
	}
	return pct(*v)
}

// WriteText prints the three models' metrics and the gap to retraining.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "model %s (%s) on %s: forget %s: %d forget, %d retain; test: %d kept", r.Model, r.Arch, r.Data, r.Forget.Text, r.NForget, r.NRetain, r.NTest)
	if r.NTestF > 0 {
		fmt.Fprintf(w, ", %d forgotten (class or sub-class)", r.NTestF)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "MIA AUC: loss-based attack, forget vs unseen test samples (≈0.5 when not memorised); MIA (entropy): forget samples called members by the papers' entropy attack")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tforget acc\tretain acc\ttest acc\tforgotten-test acc\tMIA AUC\tMIA (entropy)\tseconds")
	line := func(name string, m Metrics) {
		s := "-"
		if m.Seconds > 0 {
			s = fmt.Sprintf("%.1f", m.Seconds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.4f\t%s\t%s\n", name, pct(m.Forget), pct(m.Retain), pct(m.Test), pctp(m.ForgetTest), m.MIA, pct(m.MIAEntropy), s)
	}
	line("original", r.Original)
	line(r.Method, r.Unlearned)
	if r.Retrained != nil && r.Method != "retrain" {
		line("retrained", *r.Retrained)
	}
	if r.Gap != nil && r.Method != "retrain" {
		g := r.Gap
		ratio := "n/a"
		if g.TimeRatio > 0 {
			ratio = fmt.Sprintf("%.2f×", g.TimeRatio)
		}
		fmt.Fprintf(tw, "|gap| to retrained\t%s\t%s\t%s\t%s\t%.4f\t%s\t%s\n", pct(g.Forget), pct(g.Retain), pct(g.Test), pctp(g.ForgetTest), g.MIA, pct(g.MIAEntropy), ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	if r.Gap != nil && r.Method != "retrain" {
		notes = append(notes, fmt.Sprintf("average gap over forget, retain, test accuracy and entropy MIA: %.2f%%", 100*r.Gap.Avg))
	}
	if r.Checkpoint != "" {
		notes = append(notes, "wrote "+r.Checkpoint)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, strings.Join(notes, "; "))
	}
	return nil
}
