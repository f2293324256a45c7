package dekrr

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Message kinds on a node's subject.
const (
	kindFeatures byte = 1 // ω (D×d), b, c_i, once
	kindGram     byte = 2 // Z_j(X_i)Z_j(X_i)ᵀ, D_j×D_j, once
	kindRound    byte = 3 // θ_i, Z_j(X_i)f_i(X_i), every round
	kindAlive    byte = 4 // heartbeat, no numbers
	kindJoin     byte = 5 // a restarted node asks to rejoin, no numbers
	kindAdmit    byte = 6 // the answer: Round is the first round the neighbour expects the rejoiner's messages
)

const wireVersion = 1

// message is one node-to-node message. Vec holds its numbers: for
// kindFeatures ω row-major then b then c; for kindGram the D×D matrix; for
// kindRound θ (A numbers) then the neighbour's vector.
type message struct {
	Kind  byte
	From  int
	Round int
	A, B  int // shape: kindFeatures D×d, kindGram D×D, kindRound len(θ), len(u)
	Vec   []float64
}

const headerLen = 2 + 4*4

// encode writes m as: version, kind, from, round, A, B (uint32 little
// endian) and the float64s.
func (m *message) encode() []byte {
	b := make([]byte, headerLen+8*len(m.Vec))
	b[0], b[1] = wireVersion, m.Kind
	binary.LittleEndian.PutUint32(b[2:], uint32(m.From))
	binary.LittleEndian.PutUint32(b[6:], uint32(m.Round))
	binary.LittleEndian.PutUint32(b[10:], uint32(m.A))
	binary.LittleEndian.PutUint32(b[14:], uint32(m.B))
	for i, v := range m.Vec {
		binary.LittleEndian.PutUint64(b[headerLen+8*i:], math.Float64bits(v))
	}
	return b
}

// maxDim bounds every shape field, so a corrupt header cannot ask for a huge
// allocation.
const maxDim = 1 << 16

// decodeMessage parses a message, checking its version, kind, shape and
// length; a corrupt message is an error, never a panic.
func decodeMessage(b []byte) (*message, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("dekrr: message of %d bytes, shorter than its %d-byte header", len(b), headerLen)
	}
	if b[0] != wireVersion {
		return nil, fmt.Errorf("dekrr: message version %d, want %d", b[0], wireVersion)
	}
	m := &message{Kind: b[1],
		From:  int(binary.LittleEndian.Uint32(b[2:])),
		Round: int(binary.LittleEndian.Uint32(b[6:])),
		A:     int(binary.LittleEndian.Uint32(b[10:])),
		B:     int(binary.LittleEndian.Uint32(b[14:]))}
	if m.From >= maxDim || m.Round >= 1<<30 || m.A > maxDim || m.B > maxDim {
		return nil, fmt.Errorf("dekrr: message header out of range (from %d, round %d, shape %d×%d)", m.From, m.Round, m.A, m.B)
	}
	var want int
	switch m.Kind {
	case kindFeatures:
		want = m.A*m.B + m.A + 1
	case kindGram:
		if m.A != m.B {
			return nil, fmt.Errorf("dekrr: Gram message of shape %d×%d, want square", m.A, m.B)
		}
		want = m.A * m.B
	case kindRound:
		want = m.A + m.B
	case kindAlive, kindJoin, kindAdmit:
		want = 0
	default:
		return nil, fmt.Errorf("dekrr: unknown message kind %d", m.Kind)
	}
	if got := (len(b) - headerLen); got != 8*want {
		return nil, fmt.Errorf("dekrr: message kind %d of shape %d×%d carries %d bytes of numbers, want %d", m.Kind, m.A, m.B, got, 8*want)
	}
	m.Vec = make([]float64, want)
	for i := range m.Vec {
		m.Vec[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[headerLen+8*i:]))
		if math.IsNaN(m.Vec[i]) || math.IsInf(m.Vec[i], 0) {
			return nil, fmt.Errorf("dekrr: message kind %d from node %d: number %d is %g", m.Kind, m.From, i, m.Vec[i])
		}
	}
	return m, nil
}
