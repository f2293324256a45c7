package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/oip/v2grpc"
)

// summary is one load run's result, the JSON line post.lua writes for wrk
// plus the load generator's own CPU use.
type summary struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Status     int64   `json:"errors_status"`
	Connect    int64   `json:"errors_connect"`
	Read       int64   `json:"errors_read"`
	Write      int64   `json:"errors_write"`
	Timeout    int64   `json:"errors_timeout"`
	P50        float64 `json:"p50_us"`
	P90        float64 `json:"p90_us"`
	P99        float64 `json:"p99_us"`
	Max        float64 `json:"max_us"`
	GenCPU     float64 `json:"gen_cpu_s"`
}

// firstImage is a one-image request for the first embedded Fashion-MNIST
// test image.
func firstImage() (*oip.InferenceRequest, error) {
	d, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		return nil, err
	}
	shape := []int64{1}
	for _, s := range d.Shape {
		shape = append(shape, int64(s))
	}
	return &oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: oip.InputName, Shape: shape, Datatype: oip.FP32, Data: d.X[:d.SampleSize()]}}}, nil
}

// load is a closed-loop load generator: conns clients each send the same
// single-image request as soon as the last one is answered, for warmup
// (not counted) and then duration, over JSON HTTP, binary HTTP or gRPC.
// It prints a summary line.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	mode := fs.String("mode", "json", "wire: json, binary (HTTP with the binary tensor extension) or grpc")
	target := fs.String("url", "", "http://host:port/v2/models/NAME (json, binary) or host:port (grpc)")
	model := fs.String("model", "fashion-cnn", "model name (grpc)")
	conns := fs.Int("conns", 64, "concurrent clients")
	grpcConns := fs.Int("grpc-conns", 4, "gRPC connections the clients share (HTTP/2 multiplexes the rest)")
	duration := fs.Duration("duration", 10*time.Second, "measured time")
	warmup := fs.Duration("warmup", 2*time.Second, "time before measuring")
	fs.Parse(args)
	req, err := firstImage()
	if err != nil {
		return err
	}
	var call func(ctx context.Context, i int) error
	switch *mode {
	case "json", "binary":
		body, jsonLen, err := oip.EncodeRequest(req, *mode == "binary")
		if err != nil {
			return err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = *conns
		tr.MaxConnsPerHost = *conns
		client := &http.Client{Transport: tr}
		u := strings.TrimSuffix(*target, "/") + "/infer"
		call = func(ctx context.Context, _ int) error {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
			if err != nil {
				return err
			}
			if jsonLen >= 0 {
				r.Header.Set("Content-Type", "application/octet-stream")
				r.Header.Set(oip.HeaderContentLength, strconv.Itoa(jsonLen))
			} else {
				r.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(r)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return err
		}
	case "grpc":
		m := oip.RequestToProto(*model, "", req)
		apis := make([]v2grpc.GRPCInferenceServiceClient, max(*grpcConns, 1))
		for i := range apis {
			cc, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err
			}
			defer cc.Close()
			apis[i] = v2grpc.NewGRPCInferenceServiceClient(cc)
		}
		call = func(ctx context.Context, i int) error {
			_, err := apis[i%len(apis)].ModelInfer(ctx, m)
			return err
		}
	default:
		return fmt.Errorf("mode %q: want json, binary or grpc", *mode)
	}
	var measuring atomic.Bool
	stop := make(chan struct{})
	lat := make([][]time.Duration, *conns)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for i := range *conns {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				t0 := time.Now()
				err := call(ctx, i)
				d := time.Since(t0)
				cancel()
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				lat[i] = append(lat[i], d)
			}
		})
	}
	time.Sleep(*warmup)
	cpu0 := cpuSeconds()
	measuring.Store(true)
	start := time.Now()
	time.Sleep(*duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	cpu1 := cpuSeconds()
	close(stop)
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(int(p*float64(len(all))), len(all)-1)].Microseconds())
	}
	s := summary{Requests: int64(len(all)), DurationUS: elapsed.Microseconds(), Status: errs.Load(),
		P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Max: pct(1), GenCPU: cpu1 - cpu0}
	return json.NewEncoder(os.Stdout).Encode(s)
}

// cpuSeconds is the CPU time (user and system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
