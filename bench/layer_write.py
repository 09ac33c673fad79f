"""Layer writing throughput against ``tar -c | sha256sum`` of the same tree, in the same run.

Writes the tree as an uncompressed reproducible layer into a local OCI layout (hashing the
diffID on the way) and compares with GNU tar piped into sha256sum. Also shows the gzip (level 1)
variant and two layers compressed in parallel. Run:
``.venv/bin/python bench/layer_write.py [TREE]`` (default: this Python's standard library).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from functools import partial
from pathlib import Path

from pypack.oci.layers import LayerInfo, LayerWriter, in_parallel
from pypack.oci.layout import LayoutStore


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            files += 1
            size += path.stat().st_size
    return files, size


def gnu_tar(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        f"tar -C {root.parent} -cf - {root.name} | sha256sum > /dev/null", shell=True, check=True
    )
    return time.perf_counter() - start


def pypack_layer(root: Path, store: LayoutStore, *, compress: bool) -> tuple[float, LayerInfo]:
    start = time.perf_counter()
    store.init()
    path = store.root / "layer.partial"  # the same file system as the blobs: adopted by rename
    with open(path, "wb") as out:
        writer = LayerWriter(out, compress=compress)
        writer.add_tree(root, root.name, uid=1000, gid=1000)
        info = writer.close()
    store.adopt_file(path, info.digest)
    return time.perf_counter() - start, info


def best(runs: int, function: partial[float] | partial[tuple[float, LayerInfo]]) -> float:
    times = []
    for _ in range(runs):
        result = function()
        times.append(result if isinstance(result, float) else result[0])
    return min(times)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["stdlib"]).resolve()
    files, size = tree_size(root)
    mb = size / 1e6
    print(f"tree: {root} ({files} files, {mb:.0f} MB)")
    with tempfile.TemporaryDirectory(prefix="pypack-bench-") as tmp:
        store = LayoutStore(Path(tmp) / "store")
        gnu_tar(root)  # warm the page cache
        baseline = best(3, partial(gnu_tar, root))
        plain = best(3, partial(pypack_layer, root, store, compress=False))
        zipped = best(1, partial(pypack_layer, root, store, compress=True))
        start = time.perf_counter()
        in_parallel([partial(pypack_layer, root, store, compress=True)] * 2, workers=2)
        parallel = time.perf_counter() - start
    for label, seconds in (
        ("tar -c | sha256sum", baseline),
        ("pypack layer, uncompressed", plain),
        ("pypack layer, gzip level 1", zipped),
    ):
        rate = mb / seconds
        print(f"{label:34} {seconds:6.2f} s  {rate:7.0f} MB/s  ratio {baseline / seconds:.2f}")
    print(
        f"{'2 gzip layers in parallel (cpus=' + str(os.cpu_count()) + ')':34} {parallel:6.2f} s  "
        f"speed-up over serial {2 * zipped / parallel:.2f}x"
    )


if __name__ == "__main__":
    main()
