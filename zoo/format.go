package zoo

import (
	"strings"

	"github.com/trustml/trustml/internal/registry"
	"github.com/trustml/trustml/nn"
)

// FileOpener reads a model file of a foreign format (ONNX, say) as a
// network, with metadata describing its origin.
type FileOpener func(path string) (*nn.Network, map[string]string, error)

var formats = registry.New[FileOpener]("model file format")

// RegisterFormat makes [OpenNetwork] open the files whose name ends in ext
// (".onnx"; compared without regard to case) with open. It is meant for init
// functions, as image.RegisterFormat: package onnx registers ".onnx", so a
// program opening ONNX models imports it (import _
// "github.com/trustml/trustml/onnx"; trustml's command does).
func RegisterFormat(ext string, open FileOpener) {
	formats.Register(strings.ToLower(ext), open)
}
