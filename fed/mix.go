package fed

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/nn"
)

// Mixer is Learn2pFed's learnable partial sharing for one client, in the
// form this package uses for deep networks (training.md §18 with one ADMM
// pass per round and the multiplier α = 0). The client's model is
// v = w + z, the global model w plus a personal offset z; a diagonal
// penalty zᵀΛz, one learned Λ_g per parameter group g (a tensor of the
// network: a layer's weight or bias), decides how much of each group takes
// part in collaboration. The participation step of the ADMM solver,
// z = η(Λ+ηI)⁻¹(v − w), keeps the fraction
//
//	β_g = η/(η + Λ_g)
//
// of the client's deviation from w as personal, so
//
//	personal model   w + β⊙(v − w)       ([Mixer.Personalize])
//	upload           w + (1−β)⊙(v − w)   ([Mixer.Share], i.e. v − z)
//
// Λ → ∞ (β → 0) is FedAvg, Λ → 0 (β → 1) local training. Λ_g = exp(ℓ_g)
// is learned by back-propagation through the mixing: with the gradient G
// of the local loss at the personal model and d = v − w,
//
//	∂L/∂ℓ_g = −β_g(1−β_g) Σ_{i∈g} G_i d_i      ([Mixer.Step])
type Mixer struct {
	// Eta is the ADMM step size η of the participation step.
	Eta float64
	// LogLambda holds ℓ_g = log Λ_g for each parameter group.
	LogLambda []float64
	// Groups are the [start, end) ranges of the groups in the flat weight
	// vector.
	Groups [][2]int
}

// NewMixer returns a mixer with one group per parameter tensor of net,
// every β_g set to beta0 ∈ (0, 1), and η = eta.
func NewMixer(net *nn.Network, eta, beta0 float64) (*Mixer, error) {
	if !(eta > 0) || math.IsInf(eta, 0) {
		return nil, fmt.Errorf("fed: mixing η %g, want a finite number > 0", eta)
	}
	if !(beta0 > 0 && beta0 < 1) {
		return nil, fmt.Errorf("fed: initial personal fraction β %g, want a number in (0, 1)", beta0)
	}
	m := &Mixer{Eta: eta}
	off := 0
	l0 := math.Log(eta * (1 - beta0) / beta0) // β = η/(η+e^ℓ)
	for _, p := range net.Params() {
		m.Groups = append(m.Groups, [2]int{off, off + p.Size()})
		m.LogLambda = append(m.LogLambda, l0)
		off += p.Size()
	}
	return m, nil
}

// Beta returns β_g = η/(η + Λ_g), the personal fraction of group g.
func (m *Mixer) Beta(g int) float64 {
	// η/(η+e^ℓ) = 1/(1+e^(ℓ−log η)), stable for large |ℓ|.
	return 1 / (1 + math.Exp(m.LogLambda[g]-math.Log(m.Eta)))
}

// Betas returns every β_g.
func (m *Mixer) Betas() []float64 {
	out := make([]float64, len(m.Groups))
	for g := range out {
		out[g] = m.Beta(g)
	}
	return out
}

// mix writes dst = w + f(β_g)⊙(v − w) group by group.
func (m *Mixer) mix(dst, w, v []float32, f func(b float64) float64) {
	for g, r := range m.Groups {
		b := float32(f(m.Beta(g)))
		for i := r[0]; i < r[1]; i++ {
			dst[i] = w[i] + b*(v[i]-w[i])
		}
	}
}

// Personalize writes the personal model w + β⊙(v − w) into dst (which may
// be v).
func (m *Mixer) Personalize(dst, w, v []float32) {
	m.mix(dst, w, v, func(b float64) float64 { return b })
}

// Share writes the upload w + (1−β)⊙(v − w) = v − z into dst (which may be
// v).
func (m *Mixer) Share(dst, w, v []float32) {
	m.mix(dst, w, v, func(b float64) float64 { return 1 - b })
}

// Step takes one gradient step of size lr on every ℓ_g, given the
// gradient grad of the loss at the personal model w + β⊙d and the
// deviation d = v − w, and returns ∂L/∂ℓ.
func (m *Mixer) Step(grad, d []float32, lr float64) []float64 {
	dl := make([]float64, len(m.Groups))
	for g, r := range m.Groups {
		var s float64
		for i := r[0]; i < r[1]; i++ {
			s += float64(grad[i]) * float64(d[i])
		}
		b := m.Beta(g)
		dl[g] = -b * (1 - b) * s
	}
	for g := range dl {
		m.LogLambda[g] -= lr * dl[g]
	}
	return dl
}

// MixStep is one learning step of the mixing on a batch (x, labels): it
// sets net to the personal model w + β⊙(v − w), computes the softmax
// cross-entropy and its gradient (batch norm statistics are not updated),
// and steps ℓ. It returns the loss before the step. net's weights are left
// at the personal model of the β before the step.
func (m *Mixer) MixStep(net *nn.Network, w, v, x []float32, labels []int, lr float64) (float64, error) {
	ws := net.Weights()
	if len(w) != len(ws) || len(v) != len(ws) {
		return 0, fmt.Errorf("fed: mixing %d and %d weights for a network of %d", len(w), len(v), len(ws))
	}
	if last := m.Groups[len(m.Groups)-1][1]; last != len(ws) {
		return 0, fmt.Errorf("fed: mixer covers %d weights, the network has %d", last, len(ws))
	}
	d := make([]float32, len(ws))
	for i := range d {
		d[i] = v[i] - w[i]
	}
	m.Personalize(ws, w, v)
	k := net.NumClasses()
	mom := net.BNMomentum()
	net.SetBNMomentum(0)
	defer net.SetBNMomentum(mom)
	net.ZeroGrad()
	logits := net.Forward(x, len(labels), true)
	dl := make([]float32, len(logits))
	loss, _ := nn.SoftmaxCrossEntropy(logits, dl, labels, k, 0)
	net.Backward(dl, false)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("fed: mixing loss is %g", loss)
	}
	m.Step(net.Grads(), d, lr)
	return loss, nil
}
