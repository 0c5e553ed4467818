"""``prefetch(arr, i, j)``: a software prefetch of ``arr[i, j]``'s cache line, for kernels.

A hint only (LLVM's ``llvm.prefetch``, read, keep in all cache levels): it never faults
and changes no result, so an index past the data's end is harmless but wasted. Use it
for rows a loop will read sparsely a few hundred nanoseconds from now, which the
hardware prefetcher cannot predict.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from framework.types.numba_compat import cgutils


@intrinsic
def prefetch(typingctx, arr, i, j):
    """Prefetch element ``[i, j]`` of the 2-D array ``arr`` (no bounds check, no result)."""
    sig = types.void(arr, i, j)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], args[2]],
                                       wraparound=False)
        byte_ptr = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr.type, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [byte_ptr.type], fnty)
        # rw = 0 (read), locality = 3 (keep in every level), cache type = 1 (data)
        builder.call(fn, [byte_ptr, ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
