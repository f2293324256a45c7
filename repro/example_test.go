package repro_test

import (
	"context"
	"fmt"
	"os"

	"github.com/trustml/trustml/repro"
)

// AsKLS returns a table of the paper's numbers (here not public, so the
// paper's protocol) beside ours.
func ExampleAsKLS() {
	t, err := repro.AsKLS(context.Background(), repro.AsKLSConfig{Reps: 1, Folds: 2, Seed: 1, Data: []string{"iris"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range t.Rows {
		fmt.Printf("%s | %s | %s\n", r.Method, r.Metric, r.Paper.Format("%.2f"))
	}
	fmt.Println("complete:", t.Complete())
	// Output:
	// AsK-LS, SNE kernel | test accuracy | not public in text form
	// LS-SVM, symmetrized SNE | test accuracy | not public in text form
	// LS-SVM, RBF | test accuracy | not public in text form
	// complete: true
}

// LABRBF runs on the embedded Boston housing set, among others.
func ExampleLABRBF() {
	t, err := repro.LABRBF(context.Background(), repro.LABRBFConfig{Reps: 1, Iters: []int{10, 10}, MaxSV: 20, Seed: 1, Data: []string{"boston"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(t.Rows), "rows;", t.Rows[0].Differs)
	// Output: 2 rows; data: boston stands in for California housing
}

// AsKRFF's default is the quick protocol; Full runs the long one.
func ExampleAsKRFF() {
	t, err := repro.AsKRFF(context.Background(), repro.AsKRFFConfig{Reps: 1, N: 50, D: []int{16}, DownstreamD: []int{8}, Seed: 1, Data: []string{"iris"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Rows[0].Method, "|", t.Rows[0].Setting, "|", t.Rows[0].Metric)
	// Output: AsK-RFF, exact masses | iris, D=16 per part | ‖K−K̃‖_F/‖K‖_F
}

// GORF's default is the quick protocol; Full runs the official code's.
func ExampleGORF() {
	t, err := repro.GORF(context.Background(), repro.GORFConfig{Reps: 1, N: 50, Seed: 1, Data: []string{"wine"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Rows[0].Method, "|", t.Rows[0].Setting)
	// Output: GORF | wine, delta-gaussian σ₁=1 σ₂=10, D=3
}

// AAA evaluates attacks against defenses and compares with the AAA
// poster's tables. (Not run here: the defaults take half an hour.)
func ExampleAAA() {
	res, err := repro.AAA(context.Background(), repro.AAAConfig{Models: []string{"default"}, Attacks: []string{"square"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Tables {
		t.WriteText(os.Stdout)
	}
}
