"""``cttz(x)`` / ``ctlz(x)``: trailing / leading zero bits of a uint64, for kernels, as one
instruction (LLVM's ``cttz`` / ``ctlz``: ``tzcnt`` / ``lzcnt`` or ``bsf`` / ``bsr`` on
x86-64). The lowest set bit of ``x`` is ``cttz(x)``, the highest ``63 - ctlz(x)``.

The occupancy bitmaps of the L3 book are scanned with these (the next occupied level,
``marketdata/book/kernels.next_level``); the portable halving search they replace took
six dependent branches per call. Both are undefined for ``x == 0``: callers test the
word first.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


def _count(name: str):
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(i64, [i64, ir.IntType(1)])
        fn = builder.module.declare_intrinsic(name, [i64], fnty)
        # is_zero_poison = true: the result for 0 is unspecified (callers never pass 0)
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 1)])

    return codegen


@intrinsic
def cttz(typingctx, x):
    """Trailing zero bits of a non-zero uint64 (int64)."""
    return types.int64(types.uint64), _count("llvm.cttz")


@intrinsic
def ctlz(typingctx, x):
    """Leading zero bits of a non-zero uint64 (int64)."""
    return types.int64(types.uint64), _count("llvm.ctlz")
