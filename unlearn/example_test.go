package unlearn_test

import (
	"context"
	"fmt"
	"log"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
	"github.com/trustml/trustml/unlearn"
)

// Forget specs split the training set; the test set is split by the same
// rule.
func ExampleNewTask() {
	tr, err := data.Open(data.DefaultName, data.Train, "")
	if err != nil {
		log.Fatal(err)
	}
	te, err := data.Open(data.DefaultName, data.Test, "")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range []string{"class:Shirt", "random:0.1", "subclass:Shirt:dark"} {
		spec, err := unlearn.ParseForget(s)
		if err != nil {
			log.Fatal(err)
		}
		t, err := unlearn.NewTask(spec, tr, te, 1)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-20s forget %4d  retain %4d  test kept %4d  test forgotten %3d\n", s, len(t.Forget), len(t.Retain), len(t.TestKeep), len(t.TestForget))
	}
	// Output:
	// class:Shirt          forget 1000  retain 9000  test kept 1800  test forgotten 200
	// random:0.1           forget 1000  retain 9000  test kept 2000  test forgotten   0
	// subclass:Shirt:dark  forget  500  retain 9500  test kept 1886  test forgotten 114
}

// Run unlearns a class from a network with SFR-on and compares it with
// retraining from scratch on the retain set. Model and data can be given
// by name (Config.Model, Config.Data) as on the command line, or as
// values.
func ExampleRun() {
	tr, _ := data.Open(data.DefaultName, data.Train, "")
	te, _ := data.Open(data.DefaultName, data.Test, "")
	tr, te = tr.Head(1000), te.Head(500)
	net, _ := nn.New(nn.MLP(tr.Shape, []int{64}, 10), 1)
	opt, _ := train.NewSGD(0.05, 0.9, 5e-4, true)
	if _, err := train.Fit(context.Background(), net, tr.X, tr.Y, train.Config{Epochs: 5, BatchSize: 32, Optimizer: opt}); err != nil {
		log.Fatal(err)
	}
	cfg := unlearn.DefaultConfig()
	cfg.Net, cfg.Train, cfg.Test = net, tr, te
	cfg.Method, cfg.Forget, cfg.RetrainEpochs = "sfr-on", "class:Trouser", 5
	rep, err := unlearn.Run(context.Background(), &cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("forget accuracy: original %.0f%%, sfr-on %.0f%%, retrained %.0f%%\n",
		100*rep.Original.Forget, 100*rep.Unlearned.Forget, 100*rep.Retrained.Forget)
	fmt.Println("retain accuracy kept above 80%:", rep.Unlearned.Retain > 0.8)
	// Output:
	// forget accuracy: original 98%, sfr-on 0%, retrained 0%
	// retain accuracy kept above 80%: true
}
