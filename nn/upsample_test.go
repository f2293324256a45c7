package nn

// detectionGradCases are the gradient checks (run by TestGradients) of the
// layers detection networks use: upsampling and pyramid pooling.
func detectionGradCases(img []int) []gradCase {
	head := func(ls ...LayerSpec) []LayerSpec {
		return append(ls, LayerSpec{Kind: KindFlatten}, LayerSpec{Kind: KindDense, Out: 3})
	}
	return []gradCase{
		{"upsample", Spec{InputShape: img, NumClasses: 3, Layers: head(
			LayerSpec{Kind: KindConv, Out: 2, Kernel: 3, Stride: 2, Pad: 1},
			LayerSpec{Kind: KindUpsample, Stride: 3})}, false},
		{"pyramid pooling", Spec{InputShape: img, NumClasses: 3, Layers: head(
			LayerSpec{Kind: KindConv, Out: 3, Kernel: 3, Pad: 1},
			PyramidPooling([]int{2, 3}, 2))}, false},
	}
}
