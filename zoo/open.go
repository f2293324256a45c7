package zoo

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/oip"
)

// SpecHelp describes the model specifications [Open] and [OpenNetwork]
// accept, for flag help.
const SpecHelp = `model: "default" (the embedded Fashion-MNIST CNN), another embedded name, a checkpoint file written by "trustml train", an ONNX model (model.onnx), or (where a served model will do) http://host:port/v2/models/NAME or grpc://host:port/NAME`

// FeaturesHelp describes the flag that sets [oip.ClientOptions.FeaturesOutput]
// (--features-output), for flag help.
const FeaturesHelp = `served model: the server's output holding the penultimate features ("trustml serve --features-output NAME"), which feature-based OoD detectors need`

// IsRemote reports whether spec names a model served over the Open
// Inference Protocol (an http, https or grpc URL).
func IsRemote(spec string) bool {
	return strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") || strings.HasPrefix(spec, "grpc://")
}

// OpenNetwork resolves a model specification to a network trustml can run,
// differentiate and train: "" or "default" is the default model, an
// embedded name is that model, a file of a registered format
// ([RegisterFormat]: .onnx with package onnx) is imported, anything else is
// a checkpoint file. The metadata is the
// checkpoint's (training command, data, metrics) or the import's. A URL is
// an error: a served model is not a network; use [Open].
func OpenNetwork(spec string) (*nn.Network, map[string]string, error) {
	if spec == "" || spec == "default" {
		spec = DefaultName
	}
	if slices.Contains(Names(), spec) {
		return Load(spec)
	}
	if IsRemote(spec) {
		return nil, nil, fmt.Errorf("zoo: model %q: a served model has no weights here; this needs a checkpoint or an embedded model", spec)
	}
	if ext := strings.ToLower(filepath.Ext(spec)); ext != "" {
		if open, err := formats.Lookup(ext); err == nil {
			return open(spec)
		}
		if ext == ".onnx" {
			return nil, nil, fmt.Errorf(`zoo: model %q: opening ONNX files needs package onnx in the program (import _ "github.com/trustml/trustml/onnx")`, spec)
		}
	}
	return nn.LoadFile(spec)
}

// Open resolves a model specification to a classifier: what
// [OpenNetwork] accepts, or the URL of a model served over the Open
// Inference Protocol (http://host:port/v2/models/NAME, or
// grpc://host:port/NAME for its gRPC service), reached with opts
// (a [model.FeatureExtractor] when opts.FeaturesOutput names the server's
// feature output; local networks always are one).
func Open(ctx context.Context, spec string, opts oip.ClientOptions) (model.Classifier, error) {
	if IsRemote(spec) {
		c, err := oip.Dial(ctx, spec, opts)
		if err != nil {
			return nil, err
		}
		return c.Model(), nil
	}
	net, _, err := OpenNetwork(spec)
	return net, err
}
