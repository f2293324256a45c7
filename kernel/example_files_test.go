package kernel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trustml/trustml/kernel"
)

// ExampleFitFile is "trustml kernel fit" and "trustml kernel predict" from
// Go: fit an LS-SVM on iris, save it, and predict the whole set with the
// saved file.
func ExampleFitFile() {
	dir, err := os.MkdirTemp("", "kernel-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	fit := kernel.DefaultFitConfig()
	fit.Data, fit.Pipeline.Method, fit.Out = "iris", "lssvm", filepath.Join(dir, "iris.model")
	if _, err := kernel.FitFile(context.Background(), fit); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := kernel.PredictFile(context.Background(), kernel.PredictConfig{Source: kernel.Source{Data: "iris"}, Model: fit.Out})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy on all of iris: %.2f\n", rep.JSON.(map[string]any)["score"])
	// Output:
	// accuracy on all of iris: 0.99
}
