package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/serve"
	"github.com/trustml/trustml/zoo"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingURL = regexp.MustCompile(`msg=serving url=(http://\S+)`)

// startServe runs "trustml serve" with args on a free loopback port and
// returns the model URL and a function that stops it (as SIGTERM does) and
// returns the command's error.
func startServe(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newRootCmd()
	var logs syncBuffer
	cmd.SetOut(io.Discard)
	cmd.SetErr(&logs)
	cmd.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := servingURL.FindStringSubmatch(logs.String()); m != nil {
			var once sync.Once
			var err error
			stop := func() error {
				once.Do(func() {
					cancel()
					err = <-done
				})
				return err
			}
			t.Cleanup(func() { stop() })
			return m[1], stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve %v exited: %v\n%s", args, err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve %v did not start:\n%s", args, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeAttackEndToEnd serves the default model with AAA on loopback,
// attacks it with Square through --model URL, and requires the per-sample
// outcome of attacking the in-process model behind the same AAA with the
// same seed.
func TestServeAttackEndToEnd(t *testing.T) {
	url, stop := startServe(t, "--defense", "aaa-linear")
	if !strings.HasSuffix(url, "/v2/models/"+zoo.DefaultName) {
		t.Fatalf("serving at %s", url)
	}
	args := []string{"attack", "--attacks", "square", "--n", "10", "--budget", "60", "--checkpoints", "20,60",
		"--calibrate", "0", "--seed", "3", "--json"}
	var reports []robust.Report
	for _, a := range [][]string{
		{"--model", url, "--defenses", "none"},
		{"--model", "default", "--defenses", "aaa-linear"},
		{"--model", "default", "--defenses", "none"},
	} {
		out, err := run(t, append(args, a...)...)
		if err != nil {
			t.Fatalf("attack %v: %v", a, err)
		}
		var r robust.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	// conf lists the defended confidence of each clean sample.
	conf := func(r robust.Report) []float64 {
		var c []float64
		for _, s := range r.Clean[0].Samples {
			c = append(c, s.Confidence)
		}
		return c
	}
	served, local, undefended := reports[0].Pairs[0], reports[1].Pairs[0], reports[2].Pairs[0]
	if len(served.Samples) != 10 || !reflect.DeepEqual(served.Samples, local.Samples) {
		t.Errorf("served with AAA: %+v\nin-process AAA: %+v", served.Samples, local.Samples)
	}
	if !slices.Equal(served.Summary.RobustAccuracy, local.Summary.RobustAccuracy) || !slices.Equal(conf(reports[0]), conf(reports[1])) {
		t.Errorf("served with AAA: robust accuracy %v, confidences %v\nin-process AAA: %v, %v",
			served.Summary.RobustAccuracy, conf(reports[0]), local.Summary.RobustAccuracy, conf(reports[1]))
	}
	// The comparison can fail: without AAA the attack goes otherwise.
	if reflect.DeepEqual(served.Samples, undefended.Samples) || slices.Equal(conf(reports[0]), conf(reports[2])) {
		t.Errorf("the served model answers like the undefended one: %+v", served.Samples)
	}
	if err := stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
}

// TestServeProxyCLI serves, undefended, what an upstream v2 server on
// loopback returns.
func TestServeProxyCLI(t *testing.T) {
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer((&oip.Server{Name: "plain", Model: net.Copy()}).Handler())
	defer up.Close()
	url, _ := startServe(t, "--upstream", up.URL+"/v2/models/plain", "--defense", "none", "--name", "guarded")
	if !strings.HasSuffix(url, "/v2/models/guarded") {
		t.Fatalf("serving at %s", url)
	}
	ctx := context.Background()
	c, err := oip.Dial(ctx, url, oip.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 2*784)
	for i := range x {
		x[i] = float32(i%97) / 96
	}
	got, want := make([]float32, 20), make([]float32, 20)
	if err := c.Logits(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	net.Logits(ctx, want, x)
	if !slices.Equal(got, want) {
		t.Errorf("proxied %v, upstream %v", got, want)
	}
}

// TestServeKeysCLI configures API keys partly by environment variables and
// checks that the counts survive a restart.
func TestServeKeysCLI(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.txt")
	os.WriteFile(keys, []byte("alice alice-0123456789abcdef\n"), 0o600)
	counts := filepath.Join(dir, "counts")
	t.Setenv("TRUSTML_SERVE_BUDGET", "3")
	t.Setenv("TRUSTML_SERVE_DEFENSE", "none")
	body, _ := json.Marshal(oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: "input", Shape: []int64{2, 1, 28, 28}, Datatype: "FP32", Data: make([]float32, 2*784)}}})
	infer := func(url, token string) (int, string) {
		req, _ := http.NewRequest("POST", url+"/infer", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After") + " " + string(b)
	}
	url, stop := startServe(t, "--keys", keys, "--counts", counts)
	if code, b := infer(url, "wrong-token-0123456789"); code != 401 {
		t.Errorf("unknown key: %d %s", code, b)
	}
	if code, b := infer(url, "alice-0123456789abcdef"); code != 200 {
		t.Errorf("first 2 images: %d %s", code, b)
	}
	if code, b := infer(url, "alice-0123456789abcdef"); code != 429 || !strings.Contains(b, "budget") {
		t.Errorf("4 images of a budget of 3: %d %s", code, b)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The count survives the restart: one image is left.
	t.Setenv("TRUSTML_SERVE_BUDGET", "4")
	url, _ = startServe(t, "--keys", keys, "--counts", counts)
	if code, b := infer(url, "alice-0123456789abcdef"); code != 200 {
		t.Errorf("after restart, 2 images of 4: %d %s", code, b)
	}
	if code, b := infer(url, "alice-0123456789abcdef"); code != 429 {
		t.Errorf("after restart, over budget: %d %s", code, b)
	}
}

func TestServeCLIErrors(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.txt")
	os.WriteFile(keys, []byte("alice alice-0123456789abcdef\n"), 0o600)
	for _, c := range []struct {
		args []string
		env  string
		msg  string
	}{
		{[]string{"--keys", keys}, "", "need a counts file"},
		{[]string{"--budget", "5"}, "", "give a key file"},
		{[]string{"--defense", "nope"}, "", "unknown defense"},
		{[]string{"--defense-param", "tau"}, "", "--defense-param"},
		{[]string{"--defense-param", "colour=1"}, "", "unknown parameter"},
		{[]string{"--input-range", "1,0"}, "", "--input-range"},
		{[]string{"--log-format", "xml"}, "", "--log-format"},
		{[]string{"--protocol", "v1"}, "", "v2 (REST) and grpc-v2 only"},
		{[]string{"--predictor_host", "x:80"}, "", "--model_name"},
		{[]string{"--upstream", "http://127.0.0.1:1/v2/models/m"}, "", "upstream"},
		{[]string{"--model", filepath.Join(dir, "missing.ckpt")}, "", "missing.ckpt"},
		{[]string{"--addr", "127.0.0.1:-1"}, "", "invalid port"},
		{nil, "TRUSTML_SERVE_MAX_BATCH=lots", "TRUSTML_SERVE_MAX_BATCH"},
	} {
		if c.env != "" {
			k, v, _ := strings.Cut(c.env, "=")
			t.Setenv(k, v)
		}
		_, err := run(t, append([]string{"serve"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("serve %v (%s): %v, want error mentioning %q", c.args, c.env, err, c.msg)
		}
		if c.env != "" {
			k, _, _ := strings.Cut(c.env, "=")
			os.Unsetenv(k)
		}
	}
}

func TestModelName(t *testing.T) {
	if got := serve.ModelName("/models/my net.v2.ckpt"); got != "my-net.v2" {
		t.Errorf("modelName = %q", got)
	}
}

// TestDeployFiles keeps deploy/ in step with the command: every
// TRUSTML_SERVE_ variable names a flag, and the example key file parses
// and holds the documented token.
func TestDeployFiles(t *testing.T) {
	flags := newServeCmd().Flags()
	env := regexp.MustCompile(`TRUSTML_SERVE_[A-Z_]+`)
	for _, f := range []string{"kubernetes.yaml", "kserve-inferenceservice.yaml", "README.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range env.FindAllString(string(b), -1) {
			name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(v, serveEnvPrefix)), "_", "-")
			if v != serveEnvPrefix && flags.Lookup(name) == nil {
				t.Errorf("%s: %s names no flag of trustml serve", f, v)
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes.yaml"))
	_, after, _ := strings.Cut(string(b), "keys.txt: |\n")
	var keys strings.Builder
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "    ") {
			break
		}
		keys.WriteString(line + "\n")
	}
	kr, err := serve.ParseKeys(strings.NewReader(keys.String()), "kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kr.Lookup("change-me-0123456789abcdef"); !ok {
		t.Error("the example key's hash is not that of its documented token")
	}
}

// TestServeSIGTERM runs the real main function in a child process, sends it
// SIGTERM while a large request is being answered, and requires the
// request to be answered in full and the process to exit cleanly.
func TestServeSIGTERM(t *testing.T) {
	if os.Getenv("TRUSTML_SERVE_CHILD") == "1" {
		os.Args = []string{"trustml", "serve", "--addr", "127.0.0.1:0", "--defense", "none", "--max-body", "16000000"}
		main()
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeSIGTERM$")
	cmd.Env = append(os.Environ(), "TRUSTML_SERVE_CHILD=1")
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; time.Sleep(10 * time.Millisecond) {
		if m := servingURL.FindStringSubmatch(logs.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("child did not start:\n%s", logs.String())
		}
	}
	const n = 1000
	x := make([]float32, n*784)
	for i := range x {
		x[i] = float32(i%255) / 255
	}
	body, _ := json.Marshal(oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: "input", Shape: []int64{n, 1, 28, 28}, Datatype: "FP32", Data: x}}, Outputs: []oip.RequestOutput{{Name: "logits"}}})
	type reply struct {
		code int
		rows int
		err  error
	}
	replies := make(chan reply, 1)
	go func() {
		resp, err := http.Post(url+"/infer", "application/json", bytes.NewReader(body))
		if err != nil {
			replies <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		var r oip.InferenceResponse
		err = json.NewDecoder(resp.Body).Decode(&r)
		rows := 0
		if len(r.Outputs) == 1 {
			rows = len(r.Outputs[0].Data) / 10
		}
		replies <- reply{resp.StatusCode, rows, err}
	}()
	// Wait until the request is in flight, then ask the server to stop.
	metricsURL := strings.Split(url, "/v2/")[0] + "/metrics"
	inflight := regexp.MustCompile(`(?m)^trustml_serve_inflight_requests\{[^}]*\} 1$`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		resp, err := http.Get(metricsURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if inflight.Match(b) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never showed up in flight")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-replies
	if r.err != nil || r.code != 200 || r.rows != n {
		t.Errorf("in-flight request across SIGTERM: status %d, %d rows, %v", r.code, r.rows, r.err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child exit: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "shutting down") || !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("logs lack the shutdown:\n%s", logs.String())
	}
}
