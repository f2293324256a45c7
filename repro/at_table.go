package repro

import (
	"fmt"
	"math"
	"strings"

	"github.com/trustml/trustml/shard"
)

// atPaper is what the table prints beside a method: its source, the
// paper's setting and the direction the paper reports.
type atPaper struct {
	source, setting, direction string
}

var atPapers = map[string]atPaper{
	"standard": {"no adversarial training (baseline)", "—",
		"highest clean accuracy, no robustness (AutoAttack accuracy about 0)"},
	"pgd-at": {"PGD-AT, Madry et al. 2018 (robustness.md §5.5)", "CIFAR-10, ε = 8/255, PGD-7/10 training, AutoAttack",
		"robust accuracy far above standard training, at a cost in clean accuracy"},
	"fgsm-rs": {"FGSM-RS, Wong et al. 2020 (robustness.md §13)", "CIFAR-10, PreActResNet-18, ε = 8/255, α = 1.25ε",
		"robustness close to PGD-AT at a fraction of the cost, unless it overfits catastrophically"},
	"fgsm-rs-es": {"self-fitting paper (robustness.md §14)", "CIFAR-10, PreActResNet-18, FGSM-AT at 8–16/255, PGD-10 per epoch",
		"stopping at the best held-out PGD epoch keeps a robust model when CO strikes (no worse than the final model otherwise)"},
	"sub-at": {"Sub-AT abstract (robustness.md §13)", "CIFAR-10, PreActResNet-18, single-step Sub-AT, PGD-50 at ε = 8/255",
		"single-step AT in the DLDR subspace avoids CO and is about as robust as multi-step AT (> 51% PGD-50)"},
	"afa": {"AFA (robustness.md §16; numbers not retrieved)", "CIFAR-10 / SVHN / Tiny-ImageNet across ε, dual-BN ResNets",
		"clean and robust accuracy at or above PGD-AT, one model for any attack strength"},
}

// atTable builds the table of runs.
func atTable(runs []ATRun, setup string, sh shard.Spec) *Table {
	by := map[string]ATRun{}
	for _, r := range runs {
		by[r.Method] = r
	}
	var n int
	if len(runs) > 0 {
		n = runs[0].N
	}
	t := &Table{
		Paper: "Adversarial training at small scale: standard, PGD-AT (Madry et al. 2018), FGSM-RS (Wong et al. 2020), FGSM-RS + the catastrophic-overfitting remedy, Sub-AT (Li et al. 2022), AFA (robustness.md §16)",
		Protocol: fmt.Sprintf("%s. SGD (momentum 0.9, Nesterov, wd 5e-4, constant lr) on the training images less the held-out ones, PGD accuracy on the held-out images after every epoch; each model's clean and AutoAttack-lite accuracy (APGD-CE, APGD-T, Square in turn, the worst case per image) on the first %d test images%s",
			setup, n, map[bool]string{true: "", false: fmt.Sprintf(" (shard %s of the runs)", sh)}[sh.Whole()]),
		Claim: "adversarial training buys robustness with clean accuracy; single-step AT matches PGD-AT unless it overfits catastrophically, which early stopping or a subspace avoids; AFA's dual batch norm recovers clean accuracy at equal robustness",
	}
	differs := "Fashion-MNIST and a small CNN at ε=0.1, not CIFAR-10 and ResNets at 8/255; a few epochs; AutoAttack-lite with fewer iterations and queries"
	for _, r := range runs {
		if r.Method != "fgsm-rs-es" { // the FGSM-RS run's own seconds
			t.Seconds += r.Seconds
		}
		p := atPapers[r.Method]
		np := NotPublic(p.source, p.setting+"; direction: "+p.direction)
		robustPaper := np
		if r.Method == "sub-at" {
			robustPaper = Published(51, p.source+", a lower bound ('> 51%', PGD-50)", p.setting)
		}
		setting := fmt.Sprintf("ε=%.3g, %d test images", epsOf(setup), r.N)
		stat := func(v float64) Stat {
			if math.IsNaN(v) {
				return NewStat(nil)
			}
			return NewStat([]float64{100 * v})
		}
		t.Rows = append(t.Rows,
			Row{Setting: setting, Method: r.Label, Metric: "clean accuracy %", Paper: np, Ours: stat(r.Clean), Differs: differs},
			Row{Setting: setting, Method: r.Label, Metric: "AutoAttack-lite accuracy %", Paper: robustPaper, Ours: stat(r.Robust), Differs: differs})
		if r.Err != "" {
			t.Failed = append(t.Failed, r.Label+": "+r.Err)
		}
	}
	for _, r := range runs {
		if r.Err != "" {
			continue
		}
		line := fmt.Sprintf("%s: CO epoch %d (0: none), best held-out PGD epoch %d, %.0f s", r.Label, r.COEpoch, r.BestEpoch, r.Seconds)
		if len(r.By) > 0 {
			var parts []string
			for _, k := range []string{"apgd-ce", "apgd-t", "apgd-dlr", "square"} {
				if v, ok := r.By[k]; ok {
					parts = append(parts, fmt.Sprintf("%s %d", k, v))
				}
			}
			line += "; images fooled first by " + strings.Join(parts, ", ")
		}
		t.Notes = append(t.Notes, line)
	}
	t.Notes = append(t.Notes, atDirections(by)...)
	t.Notes = append(t.Notes, "paper numbers: only Sub-AT's abstract headline is public in the spec (robustness.md §13, CIFAR-10, PGD-50); the other papers' setting and direction are printed instead (paper-numbers.md has no adversarial-training table)")
	return t
}

// epsOf reads ε back from a setup string (it is there so that merged files
// carry it).
func epsOf(setup string) float64 {
	for _, f := range strings.Fields(setup) {
		if v, ok := strings.CutPrefix(f, "eps="); ok {
			var e float64
			if _, err := fmt.Sscan(v, &e); err == nil {
				return e
			}
		}
	}
	return math.NaN()
}

// atDirections checks each paper's direction on our numbers, where the
// runs it compares were measured.
func atDirections(by map[string]ATRun) []string {
	ok := func(ms ...string) bool {
		for _, m := range ms {
			r, found := by[m]
			if !found || math.IsNaN(r.Clean) || math.IsNaN(r.Robust) {
				return false
			}
		}
		return true
	}
	holds := func(b bool) string { return map[bool]string{true: "holds", false: "does not hold"}[b] }
	pts := func(v float64) float64 { return 100 * v }
	var out []string
	std, pgd, rs, es, sub, afa := by["standard"], by["pgd-at"], by["fgsm-rs"], by["fgsm-rs-es"], by["sub-at"], by["afa"]
	if ok("standard") {
		out = append(out, fmt.Sprintf("direction, standard: AutoAttack-lite %.1f%% (< 10%%): %s", pts(std.Robust), holds(std.Robust < 0.1)))
	}
	if ok("standard", "pgd-at") {
		out = append(out, fmt.Sprintf("direction, PGD-AT vs standard: robust %+.1f points (≥ +20), clean %+.1f points (≤ 0): %s",
			pts(pgd.Robust-std.Robust), pts(pgd.Clean-std.Clean), holds(pgd.Robust >= std.Robust+0.2 && pgd.Clean <= std.Clean)))
	}
	if ok("pgd-at", "fgsm-rs") {
		out = append(out, fmt.Sprintf("direction, FGSM-RS vs PGD-AT: robust %+.1f points (within 10): %s",
			pts(rs.Robust-pgd.Robust), holds(math.Abs(rs.Robust-pgd.Robust) <= 0.1)))
	}
	if ok("fgsm-rs", "fgsm-rs-es") {
		out = append(out, fmt.Sprintf("direction, CO remedy vs final FGSM-RS: robust %+.1f points (≥ −2): %s",
			pts(es.Robust-rs.Robust), holds(es.Robust >= rs.Robust-0.02)))
	}
	if ok("pgd-at", "sub-at") {
		out = append(out, fmt.Sprintf("direction, Sub-AT vs PGD-AT: robust %+.1f points (within 10 below or above): %s",
			pts(sub.Robust-pgd.Robust), holds(sub.Robust >= pgd.Robust-0.1)))
	}
	if ok("pgd-at", "afa") {
		out = append(out, fmt.Sprintf("direction, AFA vs PGD-AT: clean %+.1f points (≥ 0), robust %+.1f points (≥ −2): %s",
			pts(afa.Clean-pgd.Clean), pts(afa.Robust-pgd.Robust), holds(afa.Clean >= pgd.Clean && afa.Robust >= pgd.Robust-0.02)))
	}
	return out
}
