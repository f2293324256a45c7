package zoo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
)

func TestDefaultModel(t *testing.T) {
	net, meta, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(meta["command"], "trustml train") {
		t.Errorf("metadata has no training command: %v", meta)
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := metrics.EvaluateClassifier(context.Background(), net, test.X, test.Y)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded test subset: accuracy %.4f, ECE %.4f", m.Accuracy, m.ECE)
	if m.Accuracy < 0.90 {
		t.Errorf("default model accuracy %.4f on the embedded test subset, want ≥ 0.90", m.Accuracy)
	}
}

// TestDefaultModelFullTestSet checks the shipped model against the goal of
// the full Fashion-MNIST test set and against the accuracy recorded in its
// checkpoint at training time.
func TestDefaultModelFullTestSet(t *testing.T) {
	test, err := data.FashionMNIST("", data.Test)
	if errors.Is(err, data.ErrNotFound) {
		t.Skip("full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
	}
	if err != nil {
		t.Fatal(err)
	}
	net, meta, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := metrics.EvaluateClassifier(context.Background(), net, test.X, test.Y)
	if err != nil {
		t.Fatal(err)
	}
	if m.Accuracy < 0.91 {
		t.Errorf("accuracy %.4f on the full test set, want ≥ 0.91", m.Accuracy)
	}
	if got := fmt.Sprintf("%.4f", m.Accuracy); got != meta["test_accuracy"] {
		t.Errorf("accuracy %s now, %s recorded when trained", got, meta["test_accuracy"])
	}
}

func TestLoadUnknown(t *testing.T) {
	if _, _, err := Load("resnet-imagenet"); err == nil {
		t.Error("unknown model loaded")
	}
}

// The default model is a model.Classifier: evaluate it on the embedded
// Fashion-MNIST test subset.
func Example() {
	net, _, err := Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	test, _ := data.EmbeddedFashion(data.Test)
	m, _, _ := metrics.EvaluateClassifier(context.Background(), net, test.X, test.Y)
	fmt.Println(net.Spec().Name, "accuracy above 90%:", m.Accuracy > 0.9)
	// Output: cnn-bn accuracy above 90%: true
}

func TestEmbeddedModelsLoad(t *testing.T) {
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		net, meta, err := Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m, _, err := metrics.EvaluateClassifier(context.Background(), net, test.X[:500*784], test.Y[:500])
		if err != nil {
			t.Fatal(err)
		}
		if m.Accuracy < 0.85 {
			t.Errorf("%s (trained with %q): accuracy %.3f on 500 embedded test images", name, meta["command"], m.Accuracy)
		}
	}
}
