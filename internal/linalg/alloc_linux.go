package linalg

import (
	"syscall"
	"unsafe"
)

// adviseHuge marks the 2 MB-aligned part of [p, p+size) MADV_HUGEPAGE; an
// error (a kernel without transparent huge pages) is ignored.
func adviseHuge(p unsafe.Pointer, size int) {
	const huge = 2 << 20
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + uintptr(size)) &^ (huge - 1)
	if end <= start {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_HUGEPAGE)
}
