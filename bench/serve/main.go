// Command serve is the helper of bench/serve/run.sh, the load benchmark of
// "trustml serve":
//
//	go run ./bench/serve body > body.json        # a one-image v2 request
//	go run ./bench/serve header                  # the table's header
//	go run ./bench/serve report -label L -wrk wrk.json -before m0.txt -after m1.txt
//
// report prints one table row from wrk's summary (written by post.lua) and
// two snapshots of the server's /metrics taken around the wrk run:
// requests/s, p50/p99 latency, mean images per forward pass, and the
// defense's share of the forward pass (model + defense) and of the server's
// CPU time, and the CPU cores the server used on average.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/oip"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: serve body | serve report [flags] | serve header")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "body":
		err = body()
	case "header":
		fmt.Printf("%-26s %9s %9s %9s %9s %8s %10s %10s %9s %8s\n", "config", "requests", "req/s", "p50 ms", "p99 ms", "batch", "def/fwd", "def/cpu", "srv cores", "non-2xx")
	case "report":
		err = report(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

// body writes a request for the first embedded Fashion-MNIST test image.
func body() error {
	d, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		return err
	}
	size := d.SampleSize()
	shape := []int64{1}
	for _, s := range d.Shape {
		shape = append(shape, int64(s))
	}
	req := oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: oip.InputName, Shape: shape, Datatype: oip.FP32, Data: d.X[:size]}}}
	return json.NewEncoder(os.Stdout).Encode(req)
}

// wrkSummary is what post.lua's done() prints.
type wrkSummary struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Status     int64   `json:"errors_status"`
	Connect    int64   `json:"errors_connect"`
	Read       int64   `json:"errors_read"`
	Write      int64   `json:"errors_write"`
	Timeout    int64   `json:"errors_timeout"`
	P50        float64 `json:"p50_us"`
	P99        float64 `json:"p99_us"`
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	label := fs.String("label", "", "row label")
	wrkFile := fs.String("wrk", "", "wrk summary (JSON line from post.lua)")
	before := fs.String("before", "", "/metrics before the run")
	after := fs.String("after", "", "/metrics after the run")
	fs.Parse(args)
	b, err := os.ReadFile(*wrkFile)
	if err != nil {
		return err
	}
	var w wrkSummary
	line := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal([]byte(line), &w); err != nil {
		return fmt.Errorf("%s: %w", *wrkFile, err)
	}
	m0, err := metrics(*before)
	if err != nil {
		return err
	}
	m1, err := metrics(*after)
	if err != nil {
		return err
	}
	d := func(name string) float64 { return m1[name] - m0[name] }
	rps := float64(w.Requests) / (float64(w.DurationUS) / 1e6)
	batch := d("trustml_serve_batch_size_sum") / max(d("trustml_serve_batch_size_count"), 1)
	def, fwd := d("trustml_serve_defense_duration_seconds_sum"), d("trustml_serve_model_duration_seconds_sum")
	cpu := d("process_cpu_seconds_total")
	fmt.Printf("%-26s %9d %9.0f %9.2f %9.2f %8.1f %9.2f%% %9.2f%% %9.2f %8d\n", *label, w.Requests, rps, w.P50/1000, w.P99/1000, batch,
		100*def/max(def+fwd, 1e-12), 100*def/max(cpu, 1e-12), cpu/(float64(w.DurationUS)/1e6), w.Status+w.Connect+w.Read+w.Write+w.Timeout)
	return nil
}

// metrics sums the samples of each metric name (labels dropped) in a
// Prometheus text exposition.
func metrics(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}
