// Package pcb detects defects on printed circuit boards from pairs of
// images: a defect-free template and a tested image of the same board
// region, aligned, as in the DeepPCB data set (Tang et al., "Online PCB
// Defect Detector On A New PCB Defect Dataset").
//
// # Data
//
// [ReadSplit] reads a DeepPCB split (trainval or test): each [Pair] names
// its tested and template images and carries the annotated defect [Box]es,
// read by [ParseAnnotations] from the data set's own format (one
// "x1 y1 x2 y2 type" line per defect). The data root is a directory holding
// PCBData/ (see [ResolveDir]: the argument, then $TRUSTML_DEEPPCB, then
// [DefaultDir]).
//
// # Baseline detector
//
// [Baseline] is the classical image-difference detector the paper improves
// on: both images are binarised, an alignment check searches small shifts
// of the tested image, the two are XORed into a difference mask that a
// morphological opening cleans and a closing merges, and the connected
// components of the mask become candidate boxes. Each component is
// described by simple features (size, shape, polarity, the change of the
// number of copper regions and holes around it between template and tested
// image) and a multinomial logistic regression fitted on the training pairs
// ([Fit]) gives its defect [Class] and a confidence.
//
// # Deep detector
//
// [Deep] is the paper's kind of detector in trustml's engine (an
// [nn.MapNet] built by [DeepSpec]): the template and the tested image,
// downscaled by DeepParams.Down, go through one shared convolutional stem
// (siamese: the same weights for both) whose features are concatenated; a
// strided trunk holds a group pyramid pooling module ([nn.PyramidPooling]:
// average pooling over 2, 4 and 8 cells at stride 8, 1×1 convolutions,
// nearest upsampling, concatenation) inside a residual block that brings
// the context back to stride 4. Two anchor-free prediction heads, at
// strides 4 and 8, give per cell a logit per defect type and the log
// distances to the box's four edges (FCOS-style centre regression; a box
// goes to one head by its size, its positive cells are those near its
// centre). [TrainDeep] minimises the sigmoid focal loss of the logits plus
// the L1 loss of the distances with Adam on random crops (one per pair and
// epoch, mostly around a defect, flipped at random); [Deep.Detect] decodes
// every cell whose best type is confident enough and applies per-type
// non-maximum suppression.
//
// # Evaluation
//
// [Evaluate] follows the authors' protocol: a detection is correct when its
// IoU with a not yet matched ground-truth box of the same class exceeds
// 0.33; it reports the average precision of every class, their mean (mAP),
// the authors' evaluation-script AP of all classes pooled, and the F-score
// 2PR/(P+R) at the confidence threshold that maximises it.
//
// Detections are written one file per tested image with [WriteDetections]
// ("x1,y1,x2,y2,confidence,type" lines) and drawn with [DrawPair].
package pcb
