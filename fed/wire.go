package fed

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Message kinds.
const (
	kindGlobal byte = 1 // server → client: the global model of a round
	kindUpload byte = 2 // client → server: the client's contribution to a round
	kindFinal  byte = 3 // server → client: the global model after the last round
	kindAlive  byte = 4 // heartbeat, no numbers
	kindStop   byte = 5 // server → client: dropped or run aborted; Round says when
)

const wireVersion = 1

// serverID is the From of the server's messages.
const serverID = 1<<16 - 1

// message is one message between the server and a client: its kind, the
// sender, the round it belongs to, a weight (an upload's sample count) and
// the model's parameters as float32.
type message struct {
	Kind   byte
	From   int
	Round  int
	Weight float64
	Vec    []float32
}

// headerLen: version, kind, from, round, weight, count.
const headerLen = 2 + 4 + 4 + 8 + 4

// maxParams bounds a message's vector, so a corrupt header cannot ask for
// a huge allocation (64 Mi float32 = 256 MiB is far above NATS's payload).
const maxParams = 1 << 26

// encode writes m little endian: version, kind, from, round (uint32),
// weight (float64), count (uint32), then count float32s.
func (m *message) encode() []byte {
	b := make([]byte, headerLen+4*len(m.Vec))
	b[0], b[1] = wireVersion, m.Kind
	binary.LittleEndian.PutUint32(b[2:], uint32(m.From))
	binary.LittleEndian.PutUint32(b[6:], uint32(m.Round))
	binary.LittleEndian.PutUint64(b[10:], math.Float64bits(m.Weight))
	binary.LittleEndian.PutUint32(b[18:], uint32(len(m.Vec)))
	for i, v := range m.Vec {
		binary.LittleEndian.PutUint32(b[headerLen+4*i:], math.Float32bits(v))
	}
	return b
}

// decodeMessage parses a message, checking version, kind, sender, round,
// weight, length and that every number is finite; a corrupt message is an
// error, never a panic.
func decodeMessage(b []byte) (*message, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("fed: message of %d bytes, shorter than its %d-byte header", len(b), headerLen)
	}
	if b[0] != wireVersion {
		return nil, fmt.Errorf("fed: message version %d, want %d", b[0], wireVersion)
	}
	m := &message{Kind: b[1],
		From:   int(binary.LittleEndian.Uint32(b[2:])),
		Round:  int(binary.LittleEndian.Uint32(b[6:])),
		Weight: math.Float64frombits(binary.LittleEndian.Uint64(b[10:]))}
	n := int(binary.LittleEndian.Uint32(b[18:]))
	if m.Kind < kindGlobal || m.Kind > kindStop {
		return nil, fmt.Errorf("fed: unknown message kind %d", m.Kind)
	}
	if m.From > serverID || m.Round >= 1<<30 || n > maxParams {
		return nil, fmt.Errorf("fed: message header out of range (from %d, round %d, %d numbers)", m.From, m.Round, n)
	}
	if math.IsNaN(m.Weight) || math.IsInf(m.Weight, 0) || m.Weight < 0 {
		return nil, fmt.Errorf("fed: message kind %d from %d: weight %g, want finite ≥ 0", m.Kind, m.From, m.Weight)
	}
	if got := len(b) - headerLen; got != 4*n {
		return nil, fmt.Errorf("fed: message kind %d from %d says %d numbers but carries %d bytes of numbers, want %d", m.Kind, m.From, n, got, 4*n)
	}
	m.Vec = make([]float32, n)
	for i := range m.Vec {
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[headerLen+4*i:]))
		if v != v || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("fed: message kind %d from %d: number %d is %g", m.Kind, m.From, i, v)
		}
		m.Vec[i] = v
	}
	return m, nil
}

// Subjects of a run with prefix p: the server listens on p.server, client
// j on p.client.j; p.ready, p.start and p.result carry the handshake and
// the client processes' results.
func serverSubject(p string) string        { return p + ".server" }
func clientSubject(p string, j int) string { return p + ".client." + strconv.Itoa(j) }
