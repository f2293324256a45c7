// Package ood detects out-of-distribution (OoD) inputs of a trained
// classifier and measures how well a detector does it.
//
// # Score convention
//
// Every detector returns one score per input where HIGHER means MORE
// in-distribution (ID). The metrics live in package metrics
// ([metrics.EvaluateOoD]: FPR at 95% TPR and AUROC with ID positive, as in the
// KNN-OoD benchmark code, AUPR-In and AUPR-Out, with scikit-learn's handling
// of ties); a benchmark [Result] carries them as [Metrics].
//
// # Detectors
//
// A [Detector] is fitted on ID training data ([Detector.Fit]) and then scores inputs;
// it reads what it needs through the interfaces of package model: logits
// ([model.Classifier]: MSP, MaxLogit, Energy), input gradients
// ([model.InputGrader]: ODIN) or penultimate features
// ([model.FeatureExtractor]: Mahalanobis, KNN, ViM, KPCA with its fused
// variants) or per-sample parameter gradients ([model.ParamGrader]: the
// low-dimensional gradient detector [GradKNN]). [New] builds one by name,
// [Names] lists them and [Register] adds one; an unknown name is an error
// matching [ErrUnknown] that lists the names. An [Inputs] caches a batch's logits and features so
// that several detectors share one forward pass. [ModeEnsemble] averages
// independently trained models' logits and features into one classifier,
// which turns every detector into a mode-ensemble detector; [ScoreEnsemble]
// instead fits one detector per model and averages their scores.
//
// # Models and precomputed arrays
//
// [OpenModels] opens any model [zoo.Open] resolves (embedded, checkpoint,
// served over the v2 protocol). Without a model, [Arrays] of precomputed
// features, logits and labels ([LoadArrays] from .npy/.npz files named by
// [ArrayFiles], [ExtractArrays] and [Arrays.Save] to make them) stand in
// for it: [Arrays.Model] and [Arrays.Inputs] give detectors exactly what a
// model would, so scores on arrays equal scores on the model. [Run], [Fit]
// and [Score] take such files in their configs. [MetricsFiles] computes the
// metrics of score files ([ReadScoresFile], [ParseScores]).
//
// Detector settings come per detector: [ParseDetectorParams] reads
// "NAME:key=value,..." and [Config.With] applies them. The cos-rff KPCA
// map can be given as a draw file ([LoadRFFDraw], [SaveRFFDraw],
// [KPCA.Draw]), as the official code draws it.
//
// # Benchmark
//
// [Run] is the benchmark of "trustml ood eval" as one call: far-OoD or
// near-OoD sets, several models as an ensemble, one shard of the samples,
// ROC plots ([Report.WritePlots]). [Merge] joins the [ShardReport]s of a
// sharded run (checked with package shard) into the report of one
// unsharded run; [DecodeShardReport] reads one from JSON. [Fit] and
// [Score] are "trustml ood fit" and "trustml ood score".
//
// [FarOoDSets] builds far-OoD image sets from data that ship with trustml
// (see its documentation for why each is out of distribution), and
// [Benchmark] fits detectors and evaluates them on each set; it is
// [BenchmarkScores] (per-sample scores, which shards of the samples can
// compute apart) followed by [ResultsFromScores]. [Select] picks
// hyperparameters on an ID validation split against a validation OoD set
// such as [PermutedSet], never on the test OoD sets.
//
// Near OoD by held-out classes: [FashionHeldOut] splits the embedded
// Fashion-MNIST into ID classes 0–5 (T-shirt/top, Trouser, Pullover, Dress,
// Coat, Sandal) and OoD classes 6–9 (Shirt, Sneaker, Bag, Ankle boot), and
// [TrainHeldOut] trains a small 6-class CNN on the ID classes with a fixed
// seed; [NewHeldOutSplit] makes such a split of any labelled data.
//
// # Saving detectors
//
// [SaveDetectorFile] writes a fitted detector (all but gradknn) as
// versioned JSON, atomically; [LoadDetectorFile] reads it back and checks
// its state, so that a corrupt file is an error, never a panic.
package ood
