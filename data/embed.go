package data

import "embed"

// embeddedFS holds the embedded datasets (see embedded/README.md). The whole
// directory is embedded, so that the package builds even before
// data/internal/mkembed has generated the data files.
//
//go:embed embedded
var embeddedFS embed.FS
