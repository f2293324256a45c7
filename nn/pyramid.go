package nn

// PyramidPooling returns the layer of a pyramid pooling module (the group
// pyramid pooling of the DeepPCB detector, PSPNet's pyramid pooling with
// local windows): the input passes through unchanged and, for every scale
// s, is average-pooled over s×s windows, reduced to ch channels by a 1×1
// convolution and a ReLU, and upsampled back by s (nearest); all are
// concatenated along channels, giving C + len(scales)·ch channels. The
// input's height and width must be multiples of every scale, so that the
// branches line up (setup fails otherwise).
func PyramidPooling(scales []int, ch int) LayerSpec {
	branches := [][]LayerSpec{{}}
	for _, s := range scales {
		branches = append(branches, []LayerSpec{
			{Kind: KindAvgPool, Kernel: s, Stride: s},
			{Kind: KindConv, Out: ch, Kernel: 1, Stride: 1},
			{Kind: KindReLU},
			{Kind: KindUpsample, Stride: s},
		})
	}
	return LayerSpec{Kind: KindConcat, Branches: branches}
}
