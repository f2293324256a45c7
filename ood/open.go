package ood

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/zoo"
)

// OpenModels opens the comma-separated model specifications spec ("" is
// the default model) with [zoo.Open]: embedded names, checkpoints and
// served models (http://host:port/v2/models/NAME). featuresOutput names the
// output tensor of a served model that holds its penultimate features, for
// the feature detectors (Mahalanobis, KNN, ViM, KPCA); it is an error for a
// model that is not served.
func OpenModels(ctx context.Context, spec, featuresOutput string) ([]model.Classifier, error) {
	var out []model.Classifier
	specs := strings.Split(spec, ",")
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if s == "" && len(specs) > 1 {
			return nil, fmt.Errorf("ood: model list %q has an empty name", spec)
		}
		opts := oip.ClientOptions{}
		if featuresOutput != "" {
			if !zoo.IsRemote(s) {
				return nil, fmt.Errorf("ood: a features output (%s) is for a served model, not %q (whose features are computed here)", featuresOutput, cmp.Or(s, "default"))
			}
			opts.FeaturesOutput = featuresOutput
		}
		m, err := zoo.Open(ctx, s, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// openOne opens one model for Fit and Score.
func openOne(ctx context.Context, spec, featuresOutput string) (model.Classifier, error) {
	if strings.Contains(spec, ",") {
		return nil, fmt.Errorf("ood: one model, not a list (%s)", spec)
	}
	ms, err := OpenModels(ctx, spec, featuresOutput)
	if err != nil {
		return nil, err
	}
	return ms[0], nil
}
