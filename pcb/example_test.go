package pcb_test

import (
	"context"
	"fmt"
	"os"

	"github.com/trustml/trustml/pcb"
)

// Evaluate scores detections with the DeepPCB authors' protocol: a
// detection is correct when its IoU with an unmatched annotated box of the
// same type exceeds 0.33.
func ExampleEvaluate() {
	gt := [][]pcb.Box{{{X1: 10, Y1: 10, X2: 40, Y2: 40, Class: pcb.Open}, {X1: 100, Y1: 100, X2: 130, Y2: 120, Class: pcb.Spur}}}
	dets := [][]pcb.Detection{{
		{Box: pcb.Box{X1: 12, Y1: 8, X2: 41, Y2: 38, Class: pcb.Open}, Confidence: 0.9},
		{Box: pcb.Box{X1: 300, Y1: 300, X2: 320, Y2: 320, Class: pcb.Spur}, Confidence: 0.8}, // nothing there
		{Box: pcb.Box{X1: 101, Y1: 99, X2: 128, Y2: 121, Class: pcb.Spur}, Confidence: 0.7},
	}}
	r, err := pcb.Evaluate(gt, dets)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := pcb.WriteDetections(os.Stdout, dets[0]); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("open AP %.2f, spur AP %.2f, mAP %.2f, best F %.2f at confidence ≥ %.1f\n", r.PerClass[0].AP, r.PerClass[3].AP, r.MAP, r.F, r.Threshold)
	// Output:
	// 12,8,41,38,0.900000,open
	// 300,300,320,320,0.800000,spur
	// 101,99,128,121,0.700000,spur
	// open AP 1.00, spur AP 0.50, mAP 0.75, best F 0.80 at confidence ≥ 0.7
}

// A baseline is fitted on training pairs and run on a template and its
// tested image.
func ExampleFit() {
	train, err := pcb.ReadSplit("testdata/deeppcb", "trainval")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, st, err := pcb.Fit(context.Background(), train, pcb.DefaultParams(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	test, _ := pcb.ReadSplit("testdata/deeppcb", "test")
	tmpl, tested, err := test[0].Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	dets, al, err := b.Detect(tmpl, tested)
	fmt.Println(st.Pairs, "training pairs;", len(dets) > 0, err, "shift", al.DX, al.DY)
	// Output: 4 training pairs; true <nil> shift 0 0
}

// TrainDeep trains the two-input CNN on DeepPCB pairs (here a tiny one on
// the 4 training pairs of the test data, at a tenth of the resolution) and
// Detect finds defects with it.
func ExampleTrainDeep() {
	pairs, err := pcb.ReadSplit("testdata/deeppcb", "trainval")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := pcb.DefaultDeepParams()
	p.Down, p.Width, p.Crop, p.Epochs, p.Batch = 10, 2, 64, 1, 2
	d, st, err := pcb.TrainDeep(context.Background(), pairs, p, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d pairs, %d steps, %d parameters\n", st.Pairs, st.Steps, st.Params)
	for _, s := range d.Net().OutputShapes() {
		fmt.Printf("head: %d×%d cells of %d outputs\n", s[0], s[1], s[2])
	}
	tmpl, test, err := pairs[0].Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	dets, err := d.Detect(tmpl, test)
	fmt.Println(err == nil && len(dets) <= 100)
	// Output:
	// 4 pairs, 2 steps, 5376 parameters
	// head: 16×16 cells of 10 outputs
	// head: 8×8 cells of 10 outputs
	// true
}
