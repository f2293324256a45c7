package defense

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/model"
)

// Defended is a classifier behind a defense: every query's inputs go through
// the defense's [Preprocessor] (if it has one), the model computes logits,
// and the defense post-processes them. Its Logits method therefore returns
// what the defended API returns, which is probabilities or scores rather than
// logits when [Defended.Output] says so; attacks observe it the way they
// observe any model.
//
// Like the classifiers and defenses it combines, a Defended is not safe for
// concurrent use.
type Defended struct {
	c    model.Classifier
	m    model.Classifier // c, or c with a [ModelWrapper] defense built in
	err  error            // WrapModel's error
	d    Defense
	pre  Preprocessor
	xbuf []float32
}

var _ model.Classifier = (*Defended)(nil)

// Wrap returns c behind defense d. A defense that is a [ModelWrapper]
// (UniG) is built into the model first; if c lacks what it needs, every
// Logits call returns that error, which [Defended.Err] reports up front.
func Wrap(c model.Classifier, d Defense) *Defended {
	w := &Defended{c: c, m: c, d: d}
	w.pre, _ = d.(Preprocessor)
	if mw, ok := d.(ModelWrapper); ok {
		w.m, w.err = mw.WrapModel(c)
	}
	return w
}

// Err returns the error of building a [ModelWrapper] defense into the
// model (nil for other defenses).
func (w *Defended) Err() error { return w.err }

// InputShape returns the wrapped classifier's input shape.
func (w *Defended) InputShape() []int { return w.c.InputShape() }

// NumClasses returns the wrapped classifier's number of classes.
func (w *Defended) NumClasses() int { return w.c.NumClasses() }

// Output says what the scores returned by Logits are.
func (w *Defended) Output() Output { return w.d.Output() }

// Defense returns the defense.
func (w *Defended) Defense() Defense { return w.d }

// Classifier returns the undefended classifier.
func (w *Defended) Classifier() model.Classifier { return w.c }

// Logits writes the defended n×K scores of the n inputs in x into dst.
// It allocates only to grow the input buffer of a preprocessing defense.
func (w *Defended) Logits(ctx context.Context, dst, x []float32) error {
	if w.err != nil {
		return w.err
	}
	k := w.c.NumClasses()
	if _, err := model.CheckBatch(w.c, dst, x, k); err != nil {
		return fmt.Errorf("defense %s: %w", w.d.Name(), err)
	}
	in := x
	if w.pre != nil {
		w.xbuf = grow(w.xbuf, len(x))
		if err := w.pre.Preprocess(w.xbuf, x); err != nil {
			return fmt.Errorf("defense %s: %w", w.d.Name(), err)
		}
		in = w.xbuf
	}
	if err := w.m.Logits(ctx, dst, in); err != nil {
		return err
	}
	return w.d.Apply(dst, dst, k)
}
