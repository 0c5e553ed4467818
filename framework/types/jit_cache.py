"""What numba's disk cache of a fw kernel is keyed on: the code it can depend on.

numba checks a cached function against its own source file's timestamp only: after an
edit to a module a kernel *calls* or inlines (a risk hook, an order-status code, a fill
rule), the caller would keep loading its old machine code, silently running the old rule.
So a kernel defined in ``framework`` or, in a checkout, its sibling folders
(``strategies``, ``live``, ``research``, ``benchmarks``, ``tests``) is stamped instead
with :func:`closure_digest` of its file: a hash of the compiled code, docstrings, comments
and line numbers aside, of every module of those folders its file imports, directly or
through others (imports inside functions count). Editing code anywhere a kernel can reach
recompiles it; editing a comment or docstring, or a module it cannot reach (analytics for
the engine's loop), keeps its cache. Its cache file is named by :func:`code_digest` of
the function rather than by its line number, so lines shifted above it keep it too.

Pure Python (``compile``, ``hashlib``); ``framework.types.numba_compat`` plugs it into numba.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from types import CodeType

PACKAGE = Path(__file__).resolve().parents[1]  # framework/
ROOT = PACKAGE.parent  # where `framework` (and, in a checkout, its siblings) import from
# the code that calls framework kernels from its own: the package and, in a checkout,
# its sibling folders (not the rest of site-packages when installed)
TOP_LEVEL = ("framework", "strategies", "live", "research", "benchmarks", "tests")
RESTAMPED = tuple(ROOT / d for d in TOP_LEVEL)


@functools.cache  # asked for every kernel at import: resolve() stats each path component
def restamped(py_file: str | Path) -> bool:
    """True for a source file under one of the ``RESTAMPED`` folders."""
    path = Path(py_file).resolve()
    return any(path.is_relative_to(d) for d in RESTAMPED)


# `import a.b, c` and `from .a import (b, c)` (imports in strings only add a harmless dependency)
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)"
                     r"|import[ \t]+([^\n#;]*))", re.M)
# what `optimize=2` drops besides docstrings: kept in the digest as text
_DEBUG_ONLY = re.compile(rb"^[ \t]*(?:assert\b|if[ \t]+(?:not[ \t]+)?__debug__).*$", re.M)
# beside Python's bytecode, so that emptying that (or pointing PYTHONPYCACHEPREFIX
# elsewhere) empties this too
_MEMO = (Path(sys.pycache_prefix + str(PACKAGE)) if sys.pycache_prefix
         else PACKAGE / "__pycache__") / "jit_digests.json"


def _resolve(name: str) -> Path | None:
    """The file of dotted module ``name`` under ``ROOT`` (one of ``TOP_LEVEL``), or None."""
    parts = name.split(".")
    if not parts[0] or parts[0] not in TOP_LEVEL:
        return None
    base = ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _package_of(path: Path, level: int) -> str:
    """Dotted name of the package ``level`` dots up from module file ``path``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts[: len(parts) - level])  # level 1: the module's own package


def _imports(path: Path, source: str) -> list[str]:
    """Dotted names of the modules ``source`` (the file ``path``) may import."""
    names = []
    for frm, what, plain in _IMPORT.findall(source):
        if not frm:
            names += [n.split()[0] for n in plain.replace("\\", " ").split(",") if n.strip()]
            continue
        mod = frm.lstrip(".")
        level = len(frm) - len(mod)
        if level:
            mod = ".".join(p for p in (_package_of(path, level), mod) if p)
        # `from pkg import x` runs pkg/__init__.py and x may be a submodule
        names.append(mod)
        names += [f"{mod}.{n.split()[0]}" for n in what.strip("()").replace("\\", " ").split(",")
                  if n.split()]
    return names


def _digest_file(path: Path) -> tuple[str, list[str]]:
    """(digest of ``path``'s code, docstrings and comments and lines aside; the restamped
    files it imports, relative to ``ROOT``)."""
    source = path.read_bytes()
    code = compile(source, str(path), "exec", dont_inherit=True, optimize=2)  # no docstrings
    h = hashlib.sha256(code_digest_of(code, doc=None).encode())
    h.update(b"\n".join(_DEBUG_ONLY.findall(source)))
    deps = {p for p in map(_resolve, _imports(path, source.decode("utf-8", "replace")))
            if p is not None and p != path}
    return h.hexdigest(), sorted(str(p.relative_to(ROOT)) for p in deps)


class _Memo:
    """Per-file digests keyed by (mtime ns, size), kept across processes in
    ``framework/__pycache__`` (a warm start reads it instead of compiling ~90 modules)."""

    def __init__(self) -> None:
        try:
            self.entries = json.loads(_MEMO.read_text())
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = False
        # this process's answers: ~40 kernel files share most of their closures, and a
        # stat and path arithmetic per visit cost ~0.1 s of a warm start
        self.checked: dict[Path, tuple[str, list[str]]] = {}

    def module(self, path: Path) -> tuple[str, list[str]]:
        hit = self.checked.get(path)
        if hit is None:
            hit = self.checked[path] = self._module(path)
        return hit

    def _module(self, path: Path) -> tuple[str, list[str]]:
        st = path.stat()
        key = str(path.relative_to(ROOT))
        hit = self.entries.get(key)
        if hit is not None and hit[:2] == [st.st_mtime_ns, st.st_size]:
            return hit[2], hit[3]
        digest, deps = _digest_file(path)
        self.entries[key] = [st.st_mtime_ns, st.st_size, digest, deps]
        if not self.dirty:
            self.dirty = True
            atexit.register(self.save)
        return digest, deps

    def save(self) -> None:
        """Write the memo atomically (a read-only install simply keeps none)."""
        tmp = _MEMO.with_name(f"{_MEMO.name}.{os.getpid()}")
        try:
            _MEMO.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.entries))
            os.replace(tmp, _MEMO)
        except OSError:
            tmp.unlink(missing_ok=True)
        self.dirty = False


_memo = functools.cache(_Memo)


def closure(py_file: str | Path) -> dict[Path, str]:
    """Every restamped module file ``py_file`` imports, transitively, itself included,
    with the digest of its code (docstrings, comments and line numbers aside; each file
    compiled once, ~2 ms, and remembered across processes while its mtime and size stay)."""
    start = Path(py_file).resolve()
    memo = _memo()
    seen, todo, digests = {start}, [start], {}
    while todo:
        path = todo.pop()
        digests[path], deps = memo.module(path)
        for dep in map(_under_root, deps):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return digests


@functools.cache
def _under_root(rel: str) -> Path:
    """``ROOT / rel``, built once per process (the closures revisit the same files)."""
    return ROOT / rel


@functools.cache
def closure_digest(py_file: str | Path) -> str:
    """SHA-256 over :func:`closure` of ``py_file``: the stamp of its kernels' cache."""
    h = hashlib.sha256()
    for path, digest in sorted(closure(py_file).items()):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(digest.encode())
    return h.hexdigest()


def _consts(code: CodeType, doc: str | None) -> list[str]:
    out = []
    for i, c in enumerate(code.co_consts):
        if i == 0 and doc is not None and c == doc:
            continue  # the docstring (Python keeps it as the first constant)
        if isinstance(c, CodeType):
            out.append(code_digest_of(c, doc=None))
        elif isinstance(c, frozenset):
            out.append(repr(sorted(map(repr, c))))  # set order varies with the hash seed
        else:
            out.append(repr(c))
    return out


def code_digest_of(code: CodeType, doc: str | None) -> str:
    """A line-number-free digest of a code object (bytecode, names and constants, nested
    code included), leaving out its docstring ``doc``."""
    h = hashlib.sha256(code.co_code)
    for part in (code.co_names, code.co_varnames, code.co_freevars,
                 _consts(code, doc)):
        h.update(repr(part).encode())
    return h.hexdigest()


def code_digest(py_func) -> str:
    """12 hex digits that tell functions of one qualified name apart by their code (not
    their line), so that moving a kernel down a few lines keeps its cache file."""
    return code_digest_of(py_func.__code__, doc=py_func.__doc__)[:12]
