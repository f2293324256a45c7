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
