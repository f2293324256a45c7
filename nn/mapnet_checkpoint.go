package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/trustml/trustml/internal/atomicfile"
)

// mapCheckpointMagic starts a [MapNet] checkpoint; the layout is that of a
// [Network] checkpoint (see checkpoint.go) with a [MapSpec] in the header.
const mapCheckpointMagic = "TRUSTMLM"

type mapCheckpointHeader struct {
	Spec MapSpec           `json:"spec"`
	Meta map[string]string `json:"meta,omitempty"`
}

// SaveMap writes the map network's architecture, weights and buffers with
// free-form metadata to w.
func SaveMap(w io.Writer, net *MapNet, meta map[string]string) error {
	hdr, err := json.Marshal(mapCheckpointHeader{Spec: net.spec, Meta: meta})
	if err != nil {
		return fmt.Errorf("nn: encoding checkpoint header: %w", err)
	}
	var buf bytes.Buffer
	le := binary.LittleEndian
	buf.WriteString(mapCheckpointMagic)
	buf.Write(le.AppendUint32(nil, checkpointVersion))
	buf.Write(le.AppendUint32(nil, uint32(len(hdr))))
	buf.Write(hdr)
	for _, v := range [][]float32{net.w, net.b} {
		buf.Write(le.AppendUint64(nil, uint64(len(v))))
		for _, f := range v {
			buf.Write(le.AppendUint32(nil, math.Float32bits(f)))
		}
	}
	buf.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(buf.Bytes())))
	_, err = w.Write(buf.Bytes())
	return err
}

// SaveMapFile writes a map network checkpoint atomically.
func SaveMapFile(path string, net *MapNet, meta map[string]string) error {
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return SaveMap(w, net, meta) }); err != nil {
		return fmt.Errorf("nn: saving checkpoint: %w", err)
	}
	return nil
}

// LoadMapFile reads a checkpoint written by [SaveMapFile].
func LoadMapFile(path string) (*MapNet, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: loading checkpoint: %w", err)
	}
	net, meta, err := LoadMap(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return net, meta, nil
}

// LoadMap decodes a map network checkpoint from its bytes; any corruption
// is an error wrapping [ErrCheckpoint].
func LoadMap(b []byte) (*MapNet, map[string]string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCheckpoint, fmt.Sprintf(format, args...))
	}
	le := binary.LittleEndian
	if len(b) < len(mapCheckpointMagic)+12 {
		return nil, nil, bad("file too short (%d bytes)", len(b))
	}
	if string(b[:8]) != mapCheckpointMagic {
		return nil, nil, bad("not a trustml map network checkpoint (magic %q)", b[:8])
	}
	body, sum := b[:len(b)-4], le.Uint32(b[len(b)-4:])
	if got := crc32.ChecksumIEEE(body); got != sum {
		return nil, nil, bad("checksum mismatch (stored %08x, computed %08x): the file is corrupt or truncated", sum, got)
	}
	if v := le.Uint32(b[8:]); v != checkpointVersion {
		return nil, nil, bad("version %d, this build reads version %d", v, checkpointVersion)
	}
	off := 12
	hl := int(le.Uint32(b[off:]))
	off += 4
	if hl > maxHeader || off+hl > len(body) {
		return nil, nil, bad("header length %d at byte 12 exceeds the file", hl)
	}
	var hdr mapCheckpointHeader
	if err := json.Unmarshal(body[off:off+hl], &hdr); err != nil {
		return nil, nil, bad("header at byte %d: %v", off, err)
	}
	off += hl
	net, bld, err := buildMap(hdr.Spec)
	if err != nil {
		return nil, nil, bad("architecture: %v", err)
	}
	if off+8 > len(body) || le.Uint64(body[off:]) != uint64(cap(net.w)) {
		return nil, nil, bad("weights count at byte %d does not match architecture %q (%d parameters)", off, hdr.Spec.Name, cap(net.w))
	}
	net.alloc(bld, 0)
	for _, dst := range []struct {
		name string
		v    []float32
	}{{"weights", net.w}, {"buffers", net.b}} {
		if off+8 > len(body) {
			return nil, nil, bad("truncated before %s at byte %d", dst.name, off)
		}
		n := le.Uint64(body[off:])
		off += 8
		if n != uint64(len(dst.v)) {
			return nil, nil, bad("%s count %d at byte %d, architecture %q has %d", dst.name, n, off-8, hdr.Spec.Name, len(dst.v))
		}
		if off+4*len(dst.v) > len(body) {
			return nil, nil, bad("truncated in %s at byte %d", dst.name, off)
		}
		for i := range dst.v {
			f := math.Float32frombits(le.Uint32(body[off+4*i:]))
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, nil, bad("non-finite value in %s at index %d", dst.name, i)
			}
			dst.v[i] = f
		}
		off += 4 * len(dst.v)
	}
	if off != len(body) {
		return nil, nil, bad("%d trailing bytes after the buffers", len(body)-off)
	}
	return net, hdr.Meta, nil
}
