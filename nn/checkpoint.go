package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/trustml/trustml/internal/atomicfile"
)

// Checkpoint file layout (all integers little-endian):
//
//	magic    8 bytes  "TRUSTMLN"
//	version  uint32   checkpointVersion
//	header   uint32 length + JSON {"spec": Spec, "meta": {string: string}}
//	weights  uint64 count + count float32 values
//	buffers  uint64 count + count float32 values
//	crc      uint32   CRC-32 (IEEE) of everything before it
const (
	checkpointMagic   = "TRUSTMLN"
	checkpointVersion = 1
	maxHeader         = 1 << 20
)

// ErrCheckpoint is returned (wrapped) for a corrupt, truncated or
// incompatible checkpoint.
var ErrCheckpoint = errors.New("nn: bad checkpoint")

type checkpointHeader struct {
	Spec Spec              `json:"spec"`
	Meta map[string]string `json:"meta,omitempty"`
}

// Save writes the network's architecture, weights and buffers, with free-form
// metadata (training command, metrics, ...), to w.
func Save(w io.Writer, net *Network, meta map[string]string) error {
	return writeCheckpoint(w, checkpointMagic, checkpointHeader{Spec: net.spec, Meta: meta}, net.w, net.b)
}

// writeCheckpoint writes the layout above with magic, the JSON of hdr and
// the weights and buffers.
func writeCheckpoint(w io.Writer, magic string, hdr any, weights, buffers []float32) error {
	h, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("nn: encoding checkpoint header: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(magic)
	le := binary.LittleEndian
	buf.Write(le.AppendUint32(nil, checkpointVersion))
	buf.Write(le.AppendUint32(nil, uint32(len(h))))
	buf.Write(h)
	for _, v := range [][]float32{weights, buffers} {
		buf.Write(le.AppendUint64(nil, uint64(len(v))))
		b := make([]byte, 4*len(v))
		for i, f := range v {
			le.PutUint32(b[4*i:], math.Float32bits(f))
		}
		buf.Write(b)
	}
	buf.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(buf.Bytes())))
	_, err = w.Write(buf.Bytes())
	return err
}

// SaveFile writes a checkpoint atomically: an existing file at path is
// replaced only once the new one is complete on disk.
func SaveFile(path string, net *Network, meta map[string]string) error {
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return Save(w, net, meta) })
	if err != nil {
		return fmt.Errorf("nn: saving checkpoint: %w", err)
	}
	return nil
}

// LoadFile reads a checkpoint written by [SaveFile].
func LoadFile(path string) (*Network, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: loading checkpoint: %w", err)
	}
	net, meta, err := Load(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return net, meta, nil
}

// Load decodes a checkpoint from its bytes. Any corruption — wrong magic,
// unknown version, truncation, a size that does not match the architecture,
// a checksum mismatch, non-finite weights — is an error wrapping
// [ErrCheckpoint].
func Load(b []byte) (*Network, map[string]string, error) {
	var hdr checkpointHeader
	c, err := readCheckpoint(b, checkpointMagic, "network", &hdr)
	if err != nil {
		return nil, nil, err
	}
	net, bld, err := build(hdr.Spec)
	if err != nil {
		return nil, nil, c.bad("architecture: %v", err)
	}
	// Check the stored counts against the architecture before allocating.
	if err := c.checkWeights(cap(net.w), hdr.Spec.Name); err != nil {
		return nil, nil, err
	}
	net.alloc(bld, 0)
	if err := c.arrays(hdr.Spec.Name, net.w, net.b); err != nil {
		return nil, nil, err
	}
	return net, hdr.Meta, nil
}

// checkpointBody is a checkpoint whose framing and header have been read:
// the bytes before the checksum and the offset of the weights.
type checkpointBody struct {
	body []byte
	off  int
}

func (checkpointBody) bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCheckpoint, fmt.Sprintf(format, args...))
}

// readCheckpoint checks b's length, magic (a checkpoint of kind), checksum
// and version and decodes its JSON header into hdr.
func readCheckpoint(b []byte, magic, kind string, hdr any) (*checkpointBody, error) {
	var c checkpointBody
	le := binary.LittleEndian
	if len(b) < len(magic)+12 {
		return nil, c.bad("file too short (%d bytes)", len(b))
	}
	if string(b[:8]) != magic {
		return nil, c.bad("not a trustml %s checkpoint (magic %q)", kind, b[:8])
	}
	body, sum := b[:len(b)-4], le.Uint32(b[len(b)-4:])
	if got := crc32.ChecksumIEEE(body); got != sum {
		return nil, c.bad("checksum mismatch (stored %08x, computed %08x): the file is corrupt or truncated", sum, got)
	}
	if v := le.Uint32(b[8:]); v != checkpointVersion {
		return nil, c.bad("version %d, this build reads version %d", v, checkpointVersion)
	}
	off := 12
	hl := int(le.Uint32(b[off:]))
	off += 4
	if hl > maxHeader || off+hl > len(body) {
		return nil, c.bad("header length %d at byte 12 exceeds the file", hl)
	}
	if err := json.Unmarshal(body[off:off+hl], hdr); err != nil {
		return nil, c.bad("header at byte %d: %v", off, err)
	}
	c.body, c.off = body, off+hl
	return &c, nil
}

// checkWeights checks the stored weights count against the n parameters of
// architecture name.
func (c *checkpointBody) checkWeights(n int, name string) error {
	if c.off+8 > len(c.body) || binary.LittleEndian.Uint64(c.body[c.off:]) != uint64(n) {
		return c.bad("weights count at byte %d does not match architecture %q (%d parameters)", c.off, name, n)
	}
	return nil
}

// arrays reads the weights and buffers of architecture name into w and buf
// (allocated to their sizes); values must be finite and nothing may follow.
func (c *checkpointBody) arrays(name string, w, buf []float32) error {
	le := binary.LittleEndian
	body, off := c.body, c.off
	for _, dst := range []struct {
		name string
		v    []float32
	}{{"weights", w}, {"buffers", buf}} {
		if off+8 > len(body) {
			return c.bad("truncated before %s at byte %d", dst.name, off)
		}
		n := le.Uint64(body[off:])
		off += 8
		if n != uint64(len(dst.v)) {
			return c.bad("%s count %d at byte %d, architecture %q has %d", dst.name, n, off-8, name, len(dst.v))
		}
		if off+4*len(dst.v) > len(body) {
			return c.bad("truncated in %s at byte %d", dst.name, off)
		}
		for i := range dst.v {
			f := math.Float32frombits(le.Uint32(body[off+4*i:]))
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return c.bad("non-finite value in %s at index %d", dst.name, i)
			}
			dst.v[i] = f
		}
		off += 4 * len(dst.v)
	}
	if off != len(body) {
		return c.bad("%d trailing bytes after the buffers", len(body)-off)
	}
	return nil
}
