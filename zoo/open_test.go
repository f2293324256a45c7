package zoo

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/oip"
)

func TestOpen(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "m.ckpt")
	net, _, err := Load("fashion-resnet8")
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.SaveFile(ckpt, net, map[string]string{"note": "test"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec    string
		params  int    // of the network opened; 0 when an error is wanted
		wantErr string // substring of the error
	}{
		{spec: "", params: mustParams(t, DefaultName)},
		{spec: "default", params: mustParams(t, DefaultName)},
		{spec: "fashion-resnet8", params: net.NumParams()},
		{spec: ckpt, params: net.NumParams()},
		{spec: filepath.Join(t.TempDir(), "missing.ckpt"), wantErr: "missing.ckpt"},
		{spec: "http://localhost:1/v2/models/m", wantErr: "served model"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, _, err := OpenNetwork(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("OpenNetwork(%q) error %v, want one naming %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.NumParams() != tt.params {
				t.Errorf("OpenNetwork(%q) has %d parameters, want %d", tt.spec, got.NumParams(), tt.params)
			}
		})
	}
	if _, _, err := OpenNetwork(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing checkpoint gives %v, want fs.ErrNotExist", err)
	}
}

func mustParams(t *testing.T, name string) int {
	t.Helper()
	n, _, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return n.NumParams()
}

// TestOpenRemote checks that a URL goes to the Open Inference Protocol
// client: a server that is not a v2 server is an error naming it.
func TestOpenRemote(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := Open(context.Background(), srv.URL+"/v2/models/m", oip.ClientOptions{Retries: -1})
	if err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("Open on a non-v2 server: %v, want an error naming %s", err, srv.URL)
	}
	if !IsRemote(srv.URL) || IsRemote("m.ckpt") {
		t.Error("IsRemote misclassifies")
	}
	// A served model is a model.FeatureExtractor only when opts names its
	// feature output, and one the server lacks is an error naming it.
	net, err := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer((&oip.Server{Name: "mlp", Model: net}).Handler())
	defer up.Close()
	c, err := Open(context.Background(), up.URL+"/v2/models/mlp", oip.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(model.FeatureExtractor); ok || c.NumClasses() != 3 {
		t.Errorf("Open without FeaturesOutput gives a %T", c)
	}
	c, err = Open(context.Background(), up.URL+"/v2/models/mlp", oip.ClientOptions{FeaturesOutput: "features"})
	if c != nil || err == nil || !strings.Contains(err.Error(), `no feature output "features"`) {
		t.Errorf("Open with a missing feature output: %v, %v", c, err)
	}
}
