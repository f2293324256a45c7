package kernel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

// Fit an LS-SVM on standardized iris features with 20% held out, save the
// pipeline and predict with the file, as "trustml kernel fit" and
// "trustml kernel predict" do.
func ExamplePipeline() {
	iris, err := data.Tabular("iris")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &kernel.Pipeline{Method: "lssvm", Kernel: "rbf:gamma=0.5", Seed: 1}
	h, err := p.FitHoldout(context.Background(), iris, 0.2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s on %d rows, test %s %.3f on %d rows\n", p.Method, h.NTrain, h.Metric, h.TestScore, h.NTest)

	dir, err := os.MkdirTemp("", "pipeline")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "iris.model")
	if err := kernel.SaveFile(path, p); err != nil {
		fmt.Println(err)
		return
	}
	loaded, err := kernel.LoadPipelineFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	pred, err := loaded.Predict(iris)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("first prediction %s, accuracy on all rows %.3f\n", pred.Labels[0], pred.Score)
	// Output:
	// lssvm on 120 rows, test accuracy 0.933 on 30 rows
	// first prediction setosa, accuracy on all rows 0.987
}

// Cross-validate the RBF width and the LS-SVM regularization on a grid.
func ExamplePipeline_GridSearch() {
	wine, err := data.Tabular("wine")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &kernel.Pipeline{Method: "lssvm", Seed: 1}
	res, err := p.GridSearch(context.Background(), wine, kernel.SearchGrid{
		Kernel: kernel.Grid{"gamma": {0.01, 0.1}},
		Reg:    []float64{1, 100},
		Folds:  3,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	best := res.Points[res.Best]
	fmt.Printf("%d combinations, best %s: %s %.3f\n", len(res.Points), kernel.FormatParams(best.Params), res.Metric, best.Mean)
	// Output: 4 combinations, best gamma=0.01 reg=100: accuracy 1.000
}

// Methods and kernels are available by name; unknown names list the
// registered ones.
func ExampleNewClassifier() {
	fmt.Println(kernel.MethodNames())
	k, err := kernel.ParseKernel("rbf:gamma=0.5")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := kernel.NewClassifier("askls", k, 10, nil)
	fmt.Printf("%T %v\n", c, err)
	_, err = kernel.NewClassifier("svm", k, 10, nil)
	fmt.Println(err)
	// Output:
	// [askls krr labrbf lssvm tlssvm-mtl tsvm-mtl]
	// *kernel.AsKLS <nil>
	// kernel: unknown method "svm" (known: askls, krr, labrbf, lssvm, tlssvm-mtl, tsvm-mtl)
}

// Kernel PCA of standardized wine; scikit-learn's StandardScaler +
// KernelPCA(kernel="rbf", gamma=0.1) gives the same eigenvalues.
func ExamplePCAPipeline() {
	d, err := data.Tabular("wine")
	if err != nil {
		panic(err)
	}
	p := &kernel.PCAPipeline{Kernel: "rbf:gamma=0.1", Components: 2}
	if err := p.Fit(context.Background(), d); err != nil {
		panic(err)
	}
	Z, err := p.Transform(d)
	if err != nil {
		panic(err)
	}
	r, c := Z.Dims()
	fmt.Printf("scores %d×%d, eigenvalues %.4f\n", r, c, p.Model.Eigenvalues())
	// Output: scores 178×2, eigenvalues [20.8354 14.6536]
}
