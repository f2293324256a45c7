package nn

import (
	"fmt"
	"io"
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
	return writeCheckpoint(w, mapCheckpointMagic, mapCheckpointHeader{Spec: net.spec, Meta: meta}, net.w, net.b)
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
	var hdr mapCheckpointHeader
	c, err := readCheckpoint(b, mapCheckpointMagic, "map network", &hdr)
	if err != nil {
		return nil, nil, err
	}
	net, bld, err := buildMap(hdr.Spec)
	if err != nil {
		return nil, nil, c.bad("architecture: %v", err)
	}
	if err := c.checkWeights(cap(net.w), hdr.Spec.Name); err != nil {
		return nil, nil, err
	}
	net.alloc(bld, 0)
	if err := c.arrays(hdr.Spec.Name, net.w, net.b); err != nil {
		return nil, nil, err
	}
	return net, hdr.Meta, nil
}
