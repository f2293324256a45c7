package ood_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/ood"
	"github.com/trustml/trustml/zoo"
)

// Example_arrays runs a detector on precomputed penultimate features from
// .npz files instead of a model: KPCA with random Fourier features, given
// the random draw of the official code, fitted on ID training features and
// evaluated on ID test features against an OoD set.
func Example_arrays() {
	const f = "testdata/kpca_rff_golden.npz"
	rep, err := ood.Run(context.Background(), ood.RunConfig{
		Detectors:   []string{"kpca-cos-rff"},
		Params:      []string{"kpca-cos-rff:rff=testdata/kpca_rff_draw.npz,ratio=0.8"},
		TrainArrays: ood.ArrayFiles{Features: f + ":train"},
		TestArrays:  ood.ArrayFiles{Features: f + ":test"},
		OoDFeatures: []string{"shifted=" + f + ":ood"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rep.Results[0]
	fmt.Printf("%s vs %s: %d ID training, %d ID test, %d OoD samples, AUROC %.3f\n", r.Detector, r.OoD, rep.NTrain, rep.NTest, rep.NOoD, r.AUROC)
	// Output:
	// kpca-cos-rff vs shifted: 400 ID training, 100 ID test, 100 OoD samples, AUROC 0.957
}

// ExampleMetricsFiles computes OoD metrics of score files (.npy or text,
// higher = more in-distribution).
func ExampleMetricsFiles() {
	res, err := ood.MetricsFiles(ood.MetricsConfig{ID: "testdata/id.npy", OoD: []string{"testdata/ood.txt"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := res.Results[0]
	fmt.Printf("AUROC %.4f, FPR95 %.3f, AUPR-In %.4f, AUPR-Out %.4f\n", m.AUROC, m.FPR95, m.AUPRIn, m.AUPROut)
	// Output:
	// AUROC 0.7307, FPR95 0.735, AUPR-In 0.7812, AUPR-Out 0.6699
}

// ExampleExtractArrays writes a model's penultimate features, logits and
// labels of a data set to an .npz file, the input of "trustml ood
// eval|fit|score --features FILE --logits FILE --labels FILE" (and of numpy:
// np.load(path)["features"]).
func ExampleExtractArrays() {
	net, _, err := zoo.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	train, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		fmt.Println(err)
		return
	}
	train = train.Head(20)
	a, err := ood.ExtractArrays(context.Background(), net, train.X, train.Y)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "arrays")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.npz")
	if err := a.Save(path); err != nil {
		fmt.Println(err)
		return
	}
	back, err := ood.LoadArrays(ood.ArrayFiles{Features: path, Logits: path, Labels: path})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d samples: %d features, %d logits, label of the first %d\n", back.N, back.D, back.K, back.Labels[0])
	// Output:
	// 20 samples: 128 features, 10 logits, label of the first 2
}
