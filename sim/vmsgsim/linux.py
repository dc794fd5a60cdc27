"""Linux's drivers/virtio/virtio_ring.c as a userspace shared library for the testbench.

    python -m vmsgsim.linux          # build (if needed) and print the library's path

Where the kernel code comes from:
- `LINUX_SRC=/path/to/linux`: a kernel tree of the user's (used in place, nothing copied);
- otherwise Debian's `linux-source-6.12` package (`make setup` installs it with apt): only the
  files the build needs are extracted from `/usr/src/linux-source-6.12.tar.*` into
  `build/linux/src/` (`LINUX_TARBALL=` names another tarball of the same layout).

The library is virtio_ring.c compiled against the kernel's own userspace shims
(`tools/virtio/`, `tools/include/`), with the project's few shims of its own first on the
include path (`sim/linux_shims/`: the DMA API goes to the testbench's hooks) and the glue of
`tb/vmsg/linux/glue.c`. No kernel file is edited. A stamp records the source and the inputs;
the build reruns only when one of them changes, under a file lock (parallel test runs).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from filelock import FileLock

from .paths import BUILD, ROOT

OUT = BUILD / "linux"
LIB = OUT / "libvmsg_virtio_ring.so"
STAMP = OUT / "stamp.json"
SHIMS = ROOT / "sim" / "linux_shims"
GLUE = ROOT / "tb" / "vmsg" / "linux" / "glue.c"
PACKAGE = "linux-source-6.12"
TARBALL_GLOB = f"/usr/src/{PACKAGE}.tar.*"

# What the build reads from a kernel tree (directories are taken whole).
NEEDED_DIRS = ("tools/virtio/", "tools/include/")
NEEDED_FILES = (
    "Makefile",  # only for its VERSION / PATCHLEVEL / SUBLEVEL lines
    "drivers/virtio/virtio_ring.c",
    "include/linux/kconfig.h",
    "include/linux/compiler_types.h",
    "include/linux/container_of.h",
    "include/linux/kern_levels.h",
    "include/linux/irqreturn.h",
    "include/linux/virtio_byteorder.h",
    "include/linux/virtio_ring.h",
    "include/linux/byteorder/generic.h",
    "include/uapi/linux/virtio_types.h",
    "include/uapi/linux/virtio_config.h",
    "include/uapi/linux/virtio_ring.h",
)

CFLAGS = ["-O2", "-g", "-fPIC", "-Wall", "-Wno-pointer-sign", "-Wno-maybe-uninitialized",
          "-fno-strict-overflow", "-fno-strict-aliasing", "-fno-common", "-U_FORTIFY_SOURCE"]


class LinuxBuildError(RuntimeError):
    pass


def _cc() -> str:
    return os.environ.get("CC", "gcc")


def _tarball() -> Path:
    if os.environ.get("LINUX_TARBALL"):
        tb = Path(os.environ["LINUX_TARBALL"])
        if not tb.is_file():
            raise LinuxBuildError(f"LINUX_TARBALL={tb}: no such file")
        return tb
    found = sorted(glob.glob(TARBALL_GLOB))
    if not found:
        raise LinuxBuildError(
            f"no {TARBALL_GLOB}: install Debian's {PACKAGE} package (`make setup` does it with apt-get) "
            "or set LINUX_SRC to a Linux kernel tree")
    return Path(found[0])


def _extract(tarball: Path, dest: Path) -> Path:
    """Extract the needed members (under the tarball's top folder) into dest; returns the tree."""
    top = None
    with tarfile.open(tarball, "r:*") as tf:
        for m in tf:
            name = m.name
            if top is None:
                top = name.split("/", 1)[0]
            rel = name[len(top) + 1:] if name.startswith(top + "/") else None
            if rel is None or not (m.isfile() or m.issym()):
                continue
            if rel in NEEDED_FILES or rel.startswith(NEEDED_DIRS):
                if m.issym():
                    continue  # tools/ holds none that the build needs
                tf.extract(m, dest, filter="data") if sys.version_info >= (3, 12) else tf.extract(m, dest)
    if top is None:
        raise LinuxBuildError(f"{tarball}: empty archive")
    tree = dest / top
    missing = [f for f in NEEDED_FILES if not (tree / f).is_file()]
    if missing:
        raise LinuxBuildError(f"{tarball}: missing {', '.join(missing)}")
    return tree


def kernel_version(tree: Path) -> str:
    v = {}
    for line in (tree / "Makefile").read_text(errors="replace").splitlines()[:10]:
        key, _, val = line.partition("=")
        if key.strip() in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
            v[key.strip()] = val.strip()
    return f"{v.get('VERSION', '?')}.{v.get('PATCHLEVEL', '?')}.{v.get('SUBLEVEL', '?')}{v.get('EXTRAVERSION', '')}"


def _inputs_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(SHIMS.rglob("*.h")) + [GLUE, Path(__file__)]:
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    h.update(" ".join([_cc(), *CFLAGS]).encode())
    return h.hexdigest()


def _source_id() -> dict:
    if os.environ.get("LINUX_SRC"):
        tree = Path(os.environ["LINUX_SRC"]).resolve()
        ring = tree / "drivers/virtio/virtio_ring.c"
        if not ring.is_file():
            raise LinuxBuildError(f"LINUX_SRC={tree}: no drivers/virtio/virtio_ring.c")
        st = ring.stat()
        return {"kind": "tree", "path": str(tree), "ring_mtime": st.st_mtime_ns, "ring_size": st.st_size}
    tb = _tarball()
    st = tb.stat()
    return {"kind": "tarball", "path": str(tb), "mtime": st.st_mtime_ns, "size": st.st_size}


def compile_library(tree: Path, out: Path) -> None:
    virtio = tree / "tools" / "virtio"
    cmd = [_cc(), *CFLAGS, "-shared",
           f"-I{SHIMS}", f"-I{virtio}", f"-I{tree / 'tools' / 'include'}",
           "-include", str(tree / "include" / "linux" / "kconfig.h"),
           "-include", str(SHIMS / "vmsg_prelude.h"),
           str(tree / "drivers" / "virtio" / "virtio_ring.c"), str(GLUE), "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise LinuxBuildError("building virtio_ring.c failed:\n+ " + " ".join(cmd) + "\n" + res.stderr)


def ensure(verbose: bool = False) -> Path:
    """Build the library if it is missing or out of date; returns its path."""
    OUT.mkdir(parents=True, exist_ok=True)
    with FileLock(str(OUT) + ".lock"):
        want = {"source": _source_id(), "inputs": _inputs_digest()}
        if LIB.is_file() and STAMP.is_file():
            try:
                if json.loads(STAMP.read_text()).get("key") == want:
                    return LIB
            except ValueError:
                pass
        if want["source"]["kind"] == "tree":
            tree = Path(want["source"]["path"])
        else:
            src = OUT / "src"
            mark = OUT / "src.json"  # which tarball src/ was extracted from
            tree = None
            if mark.is_file() and src.is_dir():
                try:
                    old = json.loads(mark.read_text())
                except ValueError:
                    old = {}
                if old.get("source") == want["source"] and Path(old.get("tree", "")).is_dir():
                    tree = Path(old["tree"])
            if tree is None:
                if src.exists():
                    subprocess.run(["rm", "-rf", str(src)], check=True)
                if verbose:
                    print(f"linux: extracting virtio_ring.c and tools/virtio from {want['source']['path']}", flush=True)
                tree = _extract(Path(want["source"]["path"]), src)
                mark.write_text(json.dumps({"source": want["source"], "tree": str(tree)}))
        version = kernel_version(tree)
        tmp = LIB.with_suffix(".so.tmp")
        compile_library(tree, tmp)
        tmp.replace(LIB)
        STAMP.write_text(json.dumps({"key": want, "version": version, "tree": str(tree)}, indent=1))
        if verbose:
            print(f"linux: built {LIB} from Linux {version}", flush=True)
        return LIB


def info() -> dict:
    """What the last build used (version, tree)."""
    ensure()
    return json.loads(STAMP.read_text())


def main() -> int:
    try:
        lib = ensure(verbose=True)
    except LinuxBuildError as exc:
        print(f"linux: {exc}", file=sys.stderr)
        return 1
    print(f"linux: {lib} (Linux {info()['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
