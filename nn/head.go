package nn

// Head returns the final dense layer, the map from the penultimate features
// ([Network.Features]) to the logits: logits = W·h + b with W of shape
// out×in, row-major, and b of length out. The slices are the network's own
// weights, not copies: callers must not modify them, and they change when
// the network is trained or loaded again.
func (net *Network) Head() (w, b []float32, out, in int) {
	return net.head.w.W, net.head.b.W, net.head.out, net.head.in
}
