package oip_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/oip"
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
