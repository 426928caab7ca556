"""The speed package: every trick that makes chainrule fast, each beside its plain NumPy twin.

The ops (`chainrule.ops`), the engine and the optimizers state the mathematics and call one named
function from here where speed needs more than the obvious NumPy expression. Nothing in this
package changes a result: each function's docstring names its NumPy twin, the compiled kernels
give the same bits, and the tests run both paths.

- `buffers`: reused memory for large arrays (op outputs, im2col matrices, scratch space) and
  the memory-layout helpers that go with it;
- `jit`: the optional numba kernels (`CHAINRULE_JIT=0` or `chainrule.jit.set_enabled(False)`
  turns them off);
- `elementwise`: sums, differences, products and per-channel x · s + t (compiled: one pass)
  into reused buffers;
  ReLU (also in place) and its gate in one pass, without a 0/1 array;
- `gemm`: matrix products blocked for OpenBLAS's slow shapes;
- `windows`: padding, im2col (compiled: a copy of short runs) / col2im (compiled: a gather)
  and the tap loops of convolution and pooling windows;
- `conv`: convolution as GEMMs over blocks of im2col that stay in cache, or over the whole
  matrix, kept for W̄, up to a sixteenth of the last-level cache or 8 MiB (compiled: direct
  kernels for one input channel);
- `pooling`: max pooling with the argmax tap of each window, and its scatter;
- `updates`: the optimizers' updates in place, fused into one pass per parameter;
- `threads`: the BLAS's thread count (`chainrule.set_num_threads`).

This package imports only NumPy (and numba, lazily); it never imports the rest of chainrule.
"""

from chainrule.backend import buffers, jit

__all__ = ["buffers", "jit"]  # the topic modules are imported by the ops that use them
