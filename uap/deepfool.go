package uap

import (
	"context"
	"fmt"
	"math"

	"github.com/trustml/trustml/nn"
)

// craftDeepFool is the classic UAP (Moosavi-Dezfooli et al. 2017) as ART's
// UniversalPerturbation runs it with its DeepFool attacker: v = 0; for
// each crafting image in random order whose prediction on x + v is still
// its clean prediction, DeepFool from x + v gives x_adv, and when x_adv
// changes the prediction v becomes x_adv − x, clipped to the ε-ball. After
// each pass the fooling rate on the clipped crafting images is measured;
// the loop stops when it reaches 1 − Delta or after Epochs passes.
func craftDeepFool(ctx context.Context, c *crafter) error {
	n, k := c.train.Len(), c.net.NumClasses()
	clean := make([]int, n)
	if err := predict(ctx, c.net, c.train.X, c.in, k, false, nil, clean); err != nil {
		return err
	}
	d := &deepFool{net: c.net, in: c.in, k: k, iters: c.o.DeepFoolIter, overshoot: c.o.Overshoot}
	xv := make([]float32, c.in)
	pred := make([]int, n)
	for pass := range c.o.Epochs {
		for done, i := range c.rng.Perm(n) {
			if err := ctx.Err(); err != nil {
				return err
			}
			x := c.train.Row(i)
			for j := range xv {
				xv[j] = x[j] + c.v[j]
			}
			cur, err := d.classify(ctx, xv)
			if err != nil {
				return err
			}
			if cur == clean[i] {
				adv, label, err := d.attack(ctx, xv, cur)
				if err != nil {
					return err
				}
				if label != cur {
					for j := range c.v {
						c.v[j] = adv[j] - x[j]
					}
					project(c.v, c.o.Eps)
					c.steps++
				}
			}
			c.pr.Update(fmt.Sprintf("uap pass %d", pass+1), done+1, n, fmt.Sprintf("%d updates", c.steps))
		}
		if err := predict(ctx, c.net, c.train.X, c.in, k, true, c.v, pred); err != nil {
			return err
		}
		var fooled int
		for i := range pred {
			if pred[i] != clean[i] {
				fooled++
			}
		}
		fr := float64(fooled) / float64(n)
		c.fool = append(c.fool, fr)
		c.pr.Log("uap pass %d: fooling rate %.2f%% on the %d crafting images (%d DeepFool updates)", pass+1, 100*fr, n, c.steps)
		if fr >= 1-c.o.Delta {
			break
		}
	}
	return nil
}

// deepFool is the DeepFool attack (Moosavi-Dezfooli et al. 2016) on one
// image, as ART's DeepFool with nb_grads = all classes: the gradients of
// all K logits come from one backward pass over K copies of the image.
type deepFool struct {
	net       *nn.Network
	in, k     int
	iters     int
	overshoot float64
	rep, grad []float32
	logits    []float32
	out       []float32
}

// logitsGrads fills d.logits (K) and d.grad (K×in, row j = ∇z_j) at x.
func (d *deepFool) logitsGrads(ctx context.Context, x []float32) error {
	d.rep = grow(d.rep, d.k*d.in)
	d.grad = grow(d.grad, d.k*d.in)
	d.logits = grow(d.logits, d.k)
	for j := range d.k {
		copy(d.rep[j*d.in:(j+1)*d.in], x)
	}
	_, err := d.net.InputGrad(ctx, d.grad, d.rep, func(logits, dlogits []float32, n, k int) float64 {
		copy(d.logits, logits[:k])
		for j := range n {
			dlogits[j*k+j] = 1
		}
		return 0
	})
	return err
}

// classify returns the predicted class of one image.
func (d *deepFool) classify(ctx context.Context, x []float32) (int, error) {
	d.logits = grow(d.logits, d.k)
	if err := d.net.Logits(ctx, d.logits, x); err != nil {
		return 0, err
	}
	return argmax(d.logits), nil
}

// attack runs DeepFool from x (predicted orig) and returns the adversarial
// image (owned by d) and its class. Every step is clipped to [0, 1], as
// ART does with clip values (0, 1).
func (d *deepFool) attack(ctx context.Context, x []float32, orig int) ([]float32, int, error) {
	d.out = grow(d.out, d.in)
	copy(d.out, x)
	cur := d.out
	label := orig
	for it := 0; it < d.iters && label == orig; it++ {
		if err := d.logitsGrads(ctx, cur); err != nil {
			return nil, 0, err
		}
		if it > 0 {
			if label = argmax(d.logits); label != orig {
				break
			}
		}
		go0 := d.grad[orig*d.in : (orig+1)*d.in]
		best, bestJ, bestN2 := math.Inf(1), -1, 0.0
		for j := range d.k {
			if j == orig {
				continue
			}
			gj := d.grad[j*d.in : (j+1)*d.in]
			var n2 float64
			for t := range gj {
				w := float64(gj[t] - go0[t])
				n2 += w * w
			}
			f := math.Abs(float64(d.logits[j] - d.logits[orig]))
			if n2 == 0 {
				continue
			}
			if v := f / math.Sqrt(n2); v < best {
				best, bestJ, bestN2 = v, j, n2
			}
		}
		if bestJ < 0 {
			break // no direction: every logit difference has a zero gradient
		}
		const tol = 1e-4 // ART's tolerance added to the logit gap
		f := math.Abs(float64(d.logits[bestJ]-d.logits[orig])) + tol
		gj := d.grad[bestJ*d.in : (bestJ+1)*d.in]
		for t := range cur {
			r := f / bestN2 * float64(gj[t]-go0[t])
			cur[t] = min(max(cur[t]+float32(r), 0), 1)
		}
		if it == d.iters-1 {
			c, err := d.classify(ctx, cur)
			if err != nil {
				return nil, 0, err
			}
			label = c
		}
	}
	// Overshoot, as ART: x + (1 + overshoot)(x_adv − x), clipped.
	for t := range cur {
		cur[t] = min(max(x[t]+float32(1+d.overshoot)*(cur[t]-x[t]), 0), 1)
	}
	c, err := d.classify(ctx, cur)
	return cur, c, err
}

func argmax(z []float32) int {
	b := 0
	for j, v := range z {
		if v > z[b] {
			b = j
		}
	}
	return b
}
