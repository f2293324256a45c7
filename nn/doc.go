// Package nn is trustml's float32 neural-network engine: tensors, layers with
// explicit forward and backward passes, the architectures trustml ships (MLP,
// a small CNN, small ResNets), softmax cross-entropy, and checkpoints.
//
// # Design
//
// A [Network] is built from a serializable [Spec], a list of [LayerSpec]s, so
// a checkpoint stores the architecture beside the weights and a network can
// be rebuilt bit for bit. All trainable parameters live in one flat float32
// vector (and their gradients in another), exposed both whole
// ([Network.Weights], [Network.Grads]) and per tensor with shapes
// ([Network.Params]); batch-norm running statistics live in a third flat
// vector ([Network.Buffers]). Optimizers, weight averaging, subspace training
// and unlearning work on exactly these views.
//
// Activations are kept internally in NHWC order, so that convolutions become
// one large matrix product per batch (im2col + GEMM through internal/linalg);
// inputs and input gradients are exchanged in the NCHW order of package model.
// Buffers are owned by the layers and reused across steps: a training step
// allocates nothing once the batch size has been seen.
//
// A [MapNet] ([MapSpec], [NewMapNet]) is the fully convolutional variant
// for dense prediction: no final dense layer, an optional siamese stem
// shared by several input images, and several output maps (a detector's
// per-scale heads); [KindUpsample] and [PyramidPooling] are the layers such
// networks add.
//
// # Inference path
//
// Training keeps every layer's output for the backward pass; inference does
// not need them. [Network.Infer] (used by [Network.Logits] and
// [Network.Features], so by serving and every method that only queries a
// model) folds each batch norm into the convolution before it, applies the
// bias, ReLU and a non-overlapping max pooling in the epilogue of the
// convolution's GEMM while its output is in cache, and splits the batch over
// the cores one sample at a time, each core multiplying cache-sized bands of
// the patch matrix. Its logits equal those of Forward(x, n, false) up to
// float32 rounding (tested within 2e-5 relative on random shapes). In
// training, a ReLU directly before a max pooling is applied by the pooling
// (max and ReLU commute), bit for bit as the two layers would.
//
// A Network implements [model.Classifier], [model.InputGrader],
// [model.ParamGrader], [model.FeatureExtractor] and [model.Cloner]. It is not
// safe for concurrent use; [Network.Clone] makes an independent copy.
package nn
