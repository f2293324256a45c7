// Command serve is the helper of bench/serve/run.sh, the load benchmark of
// "trustml serve":
//
//	go run ./bench/serve body > body.json        # a one-image v2 request
//	go run ./bench/serve body -binary -header-len len.txt > body.bin
//	go run ./bench/serve load -mode grpc -url 127.0.0.1:8081 > run.json
//	go run ./bench/serve header                  # the table's header
//	go run ./bench/serve report -label L -wrk run.json -before m0.txt -after m1.txt [-json rows.jsonl]
//	go run ./bench/serve medians rows.jsonl      # one median row per label
//
// load is a closed-loop Go load generator over JSON HTTP, binary HTTP (the
// v2 binary tensor extension) or gRPC, printing a summary line like
// post.lua's for wrk. report prints one table row from such a summary and
// two snapshots of the server's /metrics taken around the run:
// requests/s, p50/p99 latency, mean images per forward pass, the defense's
// share of the forward pass (model + defense) and of the server's CPU time,
// the CPU cores the server and the load generator used on average, the
// server's CPU time per request, and the errors; with -json it also appends the row to a file, from which medians
// prints the median of each column per label.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/trustml/trustml/bench/internal/benchrow"
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
		err = body(os.Args[2:])
	case "header":
		fmt.Printf("%-30s %9s %8s %8s %8s %6s %8s %8s %9s %9s %10s %7s\n", "config", "requests", "req/s", "p50 ms", "p99 ms", "batch", "def/fwd", "def/cpu", "srv cores", "gen cores", "srv µs/req", "errors")
	case "report":
		err = report(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "medians":
		err = medians(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

// body writes a request for the first embedded Fashion-MNIST test image:
// JSON, or with -binary the binary extension's body, its JSON header's
// length then written to the file -header-len names.
func body(args []string) error {
	fs := flag.NewFlagSet("body", flag.ExitOnError)
	binary := fs.Bool("binary", false, "binary tensor extension body")
	headerLen := fs.String("header-len", "", "file to write the JSON header's length to (with -binary)")
	fs.Parse(args)
	req, err := firstImage()
	if err != nil {
		return err
	}
	b, n, err := oip.EncodeRequest(req, *binary)
	if err != nil {
		return err
	}
	if *binary && *headerLen != "" {
		if err := os.WriteFile(*headerLen, []byte(strconv.Itoa(n)), 0o644); err != nil {
			return err
		}
	}
	_, err = os.Stdout.Write(b)
	return err
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	label := fs.String("label", "", "row label")
	wrkFile := fs.String("wrk", "", "wrk summary (JSON line from post.lua)")
	before := fs.String("before", "", "/metrics before the run")
	after := fs.String("after", "", "/metrics after the run")
	rows := fs.String("json", "", "append the row as a JSON line to this file")
	fs.Parse(args)
	b, err := os.ReadFile(*wrkFile)
	if err != nil {
		return err
	}
	var w summary
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
	secs := float64(w.DurationUS) / 1e6
	r := row{Label: *label, Requests: w.Requests, RPS: float64(w.Requests) / secs, P50: w.P50 / 1000, P99: w.P99 / 1000,
		Batch:    d("trustml_serve_batch_size_sum") / max(d("trustml_serve_batch_size_count"), 1),
		SrvCores: d("process_cpu_seconds_total") / secs, GenCores: w.GenCPU / secs,
		Errors: w.Status + w.Connect + w.Read + w.Write + w.Timeout}
	def, fwd := d("trustml_serve_defense_duration_seconds_sum"), d("trustml_serve_model_duration_seconds_sum")
	r.DefFwd = 100 * def / max(def+fwd, 1e-12)
	r.DefCPU = 100 * def / max(d("process_cpu_seconds_total"), 1e-12)
	r.print()
	if *rows != "" {
		f, err := os.OpenFile(*rows, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		return json.NewEncoder(f).Encode(r)
	}
	return nil
}

// row is one line of the table.
type row struct {
	Label                string
	Requests             int64
	RPS, P50, P99, Batch float64
	DefFwd, DefCPU       float64
	SrvCores, GenCores   float64
	Errors               int64
}

func (r row) print() {
	gen := fmt.Sprintf("%9.2f", r.GenCores)
	if r.GenCores == 0 {
		gen = fmt.Sprintf("%9s", "-")
	}
	fmt.Printf("%-30s %9d %8.0f %8.2f %8.2f %6.1f %7.2f%% %7.2f%% %9.2f %s %10.0f %7d\n", r.Label, r.Requests, r.RPS, r.P50, r.P99, r.Batch,
		r.DefFwd, r.DefCPU, r.SrvCores, gen, 1e6*r.SrvCores/max(r.RPS, 1e-9), r.Errors)
}

// medians prints, for each label of the rows in a file (in order of first
// appearance), the median of each column over its runs.
func medians(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: medians rows.jsonl")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var order []string
	by := map[string][]row{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	for dec.More() {
		var r row
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		if by[r.Label] == nil {
			order = append(order, r.Label)
		}
		by[r.Label] = append(by[r.Label], r)
	}
	med := func(rs []row, f func(row) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	for _, l := range order {
		rs := by[l]
		m := row{Label: fmt.Sprintf("%s (median of %d)", l, len(rs))}
		m.Requests = int64(med(rs, func(r row) float64 { return float64(r.Requests) }))
		m.RPS = med(rs, func(r row) float64 { return r.RPS })
		m.P50 = med(rs, func(r row) float64 { return r.P50 })
		m.P99 = med(rs, func(r row) float64 { return r.P99 })
		m.Batch = med(rs, func(r row) float64 { return r.Batch })
		m.DefFwd = med(rs, func(r row) float64 { return r.DefFwd })
		m.DefCPU = med(rs, func(r row) float64 { return r.DefCPU })
		m.SrvCores = med(rs, func(r row) float64 { return r.SrvCores })
		m.GenCores = med(rs, func(r row) float64 { return r.GenCores })
		m.Errors = int64(med(rs, func(r row) float64 { return float64(r.Errors) }))
		m.print()
		// Issue 19's goal: ≥ 6,000 single-image req/s with p99 < 25 ms.
		const engine = "trustml serve (AAA, batching)"
		benchrow.Emit(benchrow.Row{Suite: "serve", Case: l + ": req/s", Engine: engine, Value: m.RPS,
			Peer: "goal 6,000 req/s", PeerValue: 6000, Unit: "req/s", HigherIsBetter: true, Goal: 1})
		benchrow.Emit(benchrow.Row{Suite: "serve", Case: l + ": p99", Engine: engine, Value: m.P99,
			Peer: "goal p99 25 ms", PeerValue: 25, Unit: "ms", Goal: 1})
		// And AAA under 2% of the forward pass it defends.
		benchrow.Emit(benchrow.Row{Suite: "serve", Case: l + ": AAA share", Engine: engine, Value: m.DefFwd,
			Peer: "goal 2% of the forward pass", PeerValue: 2, Unit: "%", Goal: 1})
	}
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
