"""Peak memory while writing and pushing a large layer: it must not grow with the layer.

For each size, a fresh process writes a file of that size, turns it into a gzip layer in a
local OCI layout, pushes the image to the test registry and reads the layer back, then reports
its peak RSS. The baseline is a process that imports the same modules and does nothing.
Needs the registry from ``scripts/services.sh start`` (``PYPACK_TEST_REGISTRY``). Run:
``source $(scripts/services.sh start) && .venv/bin/python bench/layer_memory.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SIZES_MIB = (64, 256, 1024)

CHILD = r"""
import json, os, resource, sys, tempfile, time
from pathlib import Path
from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.stores import LayoutImageStore, RegistryImageStore

size_mib, registry = int(sys.argv[1]), sys.argv[2]
result = {}
if size_mib:
    with tempfile.TemporaryDirectory(prefix="pypack-mem-") as tmp:
        data = Path(tmp) / "big.bin"
        block = os.urandom(1 << 20)
        with open(data, "wb") as out:
            for _ in range(size_mib):
                out.write(block)
        start = time.perf_counter()
        store = LayoutStore(Path(tmp) / "store")
        path = store.new_blob_file()
        fill = lambda w: w.add_tree(data, "big.bin", uid=0, gid=0)
        info = write_layer_file(path, fill, compress=True)
        store.adopt_file(path, info.digest)
        image = Image.empty()
        image.add_layer(store.blob_path(info.digest), info)
        LayoutImageStore(store).save(image, ["big"])
        result["write_s"] = time.perf_counter() - start
        start = time.perf_counter()
        RegistryImageStore().save(image, [f"{registry}/bench/memory:{size_mib}"])
        result["push_s"] = time.perf_counter() - start
        pulled = RegistryImageStore().load(f"{registry}/bench/memory:{size_mib}")
        with pulled.layers[0].open() as blob:
            while blob.read(1 << 20):
                pass
result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def run(size_mib: int, registry: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(size_mib), registry],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> None:
    registry = os.environ.get("PYPACK_TEST_REGISTRY")
    if not registry:
        sys.exit("start the registry first: source $(scripts/services.sh start)")
    baseline = run(0, registry)["peak_mib"]
    columns = ("write+store s", 14), ("push+pull s", 12), ("peak RSS MiB", 13), ("vs none", 14)
    print(f"{'layer':>9} " + " ".join(f"{title:>{width}}" for title, width in columns))
    print(f"{'(none)':>9} {'':>14} {'':>12} {baseline:13.1f} {'1.00x':>14}")
    for size in SIZES_MIB:
        result = run(size, registry)
        print(
            f"{size:>6} MiB {result['write_s']:14.2f} {result['push_s']:12.2f} "
            f"{result['peak_mib']:13.1f} {result['peak_mib'] / baseline:13.2f}x"
        )


if __name__ == "__main__":
    main()
