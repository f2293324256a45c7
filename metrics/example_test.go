package metrics_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/zoo"
)

// Score three predictions over two classes: accuracy, mean negative
// log-likelihood and expected calibration error.
func ExampleEvaluate() {
	logits := []float32{
		2, 0, // confident class 0
		0, 1, // class 1
		1, 0, // class 0, but the label is 1
	}
	m, err := metrics.Evaluate(logits, []int{0, 1, 1}, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy %.3f  nll %.3f  ece %.3f\n", m.Accuracy, m.NLL, m.ECE)
	// Output: accuracy 0.667  nll 0.584  ece 0.194
}

// Evaluate the embedded default model on the first 500 images of the
// embedded Fashion-MNIST test subset: the work of "trustml eval". Any
// model.Classifier works, including a served model (oip.Dial).
func ExampleEvaluateClassifier() {
	net, _, err := zoo.Load(zoo.DefaultName)
	if err != nil {
		fmt.Println(err)
		return
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		fmt.Println(err)
		return
	}
	test = test.Head(500)
	m, _, err := metrics.EvaluateClassifier(context.Background(), net, test.X, test.Y)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("n=%d accuracy above 85%%: %v\n", m.N, m.Accuracy > 0.85)
	// Output: n=500 accuracy above 85%: true
}

// OoD detection metrics with in-distribution samples as positives: higher
// scores mean more in-distribution.
func ExampleEvaluateOoD() {
	id := []float64{0.9, 0.8, 0.7, 0.6}
	ood := []float64{0.65, 0.3, 0.2, 0.1}
	m, err := metrics.EvaluateOoD(id, ood)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("FPR95 %.2f  AUROC %.4f\n", m.FPR95, m.AUROC)
	// Output: FPR95 0.25  AUROC 0.9375
}

// Scores of a regression, as scikit-learn's mean_squared_error,
// mean_absolute_error and r2_score give them.
func ExampleEvaluateRegression() {
	r, err := metrics.EvaluateRegression([]float64{3, -0.5, 2, 7}, []float64{2.5, 0, 2, 8})
	if err != nil {
		panic(err)
	}
	fmt.Printf("MSE %.4f MAE %.4f R2 %.4f\n", r.MSE, r.MAE, r.R2)
	// Output: MSE 0.3750 MAE 0.5000 R2 0.9486
}
