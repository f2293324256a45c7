package oip_test

import (
	"context"
	"fmt"
	stdnet "net"
	"net/http/httptest"
	"slices"

	"google.golang.org/grpc"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/oip/v2grpc"
)

// Serve a network over the Open Inference Protocol and use the served model
// as a model.Classifier through the client.
func Example() {
	net, _ := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	srv := httptest.NewServer((&oip.Server{Name: "mlp", Model: net}).Handler())
	defer srv.Close()

	ctx := context.Background()
	remote, err := oip.Dial(ctx, srv.URL+"/v2/models/mlp", oip.ClientOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{0.1, 0.2, 0.3, 0.4}
	got, want := make([]float32, 3), make([]float32, 3)
	remote.Logits(ctx, got, x)
	net.Logits(ctx, want, x)
	fmt.Println(remote.InputShape(), remote.NumClasses(), got[0] == want[0])
	// Output: [4] 3 true
}

// Talk to a served model over the binary tensor extension and over gRPC:
// the same logits as in the process, bit for bit.
func Example_wires() {
	net, _ := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	srv := &oip.Server{Name: "mlp", Model: net}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	ln, _ := stdnet.Listen("tcp", "127.0.0.1:0")
	gs := grpc.NewServer()
	v2grpc.RegisterGRPCInferenceServiceServer(gs, &oip.GRPCService{Meta: srv.Metadata(), Infer: srv.Infer})
	go gs.Serve(ln)
	defer gs.Stop()

	ctx := context.Background()
	x := []float32{0.1, 0.2, 0.3, 0.4}
	want := make([]float32, 3)
	net.Logits(ctx, want, x)
	for _, u := range []struct {
		url string
		o   oip.ClientOptions
	}{
		{hs.URL + "/v2/models/mlp", oip.ClientOptions{Binary: true}},
		{"grpc://" + ln.Addr().String() + "/mlp", oip.ClientOptions{}},
	} {
		remote, err := oip.Dial(ctx, u.url, u.o)
		if err != nil {
			fmt.Println(err)
			return
		}
		got := make([]float32, 3)
		err = remote.Logits(ctx, got, x)
		fmt.Println(err, slices.Equal(got, want))
		remote.Close()
	}
	// Output:
	// <nil> true
	// <nil> true
}
