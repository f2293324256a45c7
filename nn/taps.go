package nn

// Tap is a dense or convolution layer as the last [Network.Forward] and
// [Network.Backward] saw it, for methods that need a layer's inputs and
// output gradients rather than only its weight gradient (K-FAC's factors).
// The weight gradient of the pass is Σ_r DOut[r]ᵀ In[r] over the rows r.
type Tap struct {
	Kind         string // KindDense or KindConv
	Weight, Bias *Param // Weight's values are Out × InDim, row-major
	// Rows is the number of input rows: the batch size for a dense layer,
	// batch × output pixels for a convolution.
	Rows, InDim, Out int
	// In is Rows × InDim: the layer's inputs (dense) or its im2col patches
	// (convolution, in the weight's (kh, kw, in) order), from the last
	// Forward. DOut is Rows × Out: the gradient of the loss with respect to
	// the layer's outputs, from the last Backward; nil before one. Both are
	// owned by the network and valid until its next pass.
	In, DOut []float32
}

// Taps returns the network's dense and convolution layers in parameter
// order (including those inside residual blocks; not those inside concat
// branches), with their inputs and output gradients of the last pass.
func (net *Network) Taps() []Tap {
	var taps []Tap
	var walk func(s seq)
	walk = func(s seq) {
		for _, l := range s {
			switch l := l.(type) {
			case *dense:
				taps = append(taps, Tap{Kind: KindDense, Weight: l.w, Bias: l.b, Rows: l.n, InDim: l.in, Out: l.out, In: l.x, DOut: l.dy})
			case *conv:
				taps = append(taps, Tap{Kind: KindConv, Weight: l.wt, Bias: l.b, Rows: l.n * l.oh * l.ow, InDim: l.kdim(), Out: l.out, In: l.patches(), DOut: l.outGrad()})
			case *residual:
				walk(l.body)
				walk(l.short)
			}
		}
	}
	walk(net.layers)
	return taps
}
