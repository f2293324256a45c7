#!/usr/bin/env python3
"""Writes the NumPy golden files that data/npy_test.go reads.

Run from this directory with a Python that has numpy (tested with numpy
1.24.2, /usr/bin/python3 on Debian):

    python3 make_npy.py

The values are fixed (no random numbers), so the output is the same on every
run; the tests hard-code them.
"""

import numpy as np

# float32 2x3, format version 1.0 (np.save's default).
f32 = np.array([[0.0, 1.5, -2.0], [3.25, 4.0, 1e-3]], dtype=np.float32)
np.save("f32.npy", f32)

# float64 3x2 features.
f64 = np.array([[0.1, -0.2], [1e10, 2.5], [-3.0, 1.0 / 3.0]], dtype=np.float64)
np.save("f64.npy", f64)

# The same float32 array with a version 2.0 and a version 3.0 header.
with open("v2.npy", "wb") as f:
    np.lib.format.write_array(f, f32, version=(2, 0))
with open("v3.npy", "wb") as f:
    np.lib.format.write_array(f, f32, version=(3, 0))

# Integer arrays and a 0-d array.
np.save("i32.npy", np.array([-1, 0, 7, 2147483647], dtype=np.int32))
np.save("i64.npy", np.array([[-5, 9007199254740993]], dtype=np.int64))
np.save("scalar.npy", np.float64(2.5))

# Four 28x28 uint8 images: image k has pixel (r, c) = (k*64 + r*28 + c) % 256.
k, r, c = np.meshgrid(np.arange(4), np.arange(28), np.arange(28), indexing="ij")
images = ((k * 64 + r * 28 + c) % 256).astype(np.uint8)
labels = np.array([0, 2, 1, 2], dtype=np.int64)
np.savez_compressed("images.npz", x=images, y=labels)
# The same images as N x 28 x 28 x 1 (NHWC) and N x 1 x 28 x 28 (NCHW), with
# the alias names X and labels, stored uncompressed.
np.savez("images_nhwc.npz", X=images[..., None], labels=labels.astype(np.int32))
np.save("images_nchw.npy", images[:, None, :, :])

# Features with float labels that are whole numbers.
np.savez("features.npz", x=f64, y=np.array([1.0, 0.0, 1.0]))

# Bad files: Fortran order, big-endian, negative label, both x and X, no x.
np.save("fortran.npy", np.asfortranarray(f64))
np.save("bigendian.npy", f32.astype(">f4"))
np.savez("badlabel.npz", x=f64, y=np.array([0, -1, 1]))
np.savez("twox.npz", x=f64, X=f64)
np.savez("nox.npz", features=f64)
