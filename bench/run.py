"""pypack's benchmarks in one command: every figure a ratio against a baseline timed in the
same run, the pairs run in turn (these machines are shared and noisy).

    .venv/bin/python bench/run.py            # short: a few small cases, about two minutes
    .venv/bin/python bench/run.py --full     # the sizes the figures in the notes are quoted at

It starts the test services (registry, dockerd) the way the tests do, makes the tiny (busybox)
stack and a builder from ``samples/builders/tiny`` in a fresh pypack home, and compares:

- no-change, source-change and cold builds of ``samples/static-site`` and of a generated app
  (32 MiB; 500 MiB of 2,000 files with ``--full``) against ``docker build`` of a Dockerfile
  that copies the same app onto the same run image (the classic builder, its cache warm for
  the no-change and source-change cases);
- for an app of 32 MiB of random bytes (1 GiB with ``--full``): writing its layer against
  ``tar -c | sha256sum`` of the tree; a rebase of its image against one of a 1 MiB app; a cold
  ``--publish`` against ``tar | gzip -1 | sha256sum``; the peak RSS of exporting and of
  publishing it against the 1 MiB app's;
- four different apps built at once against one home, against one after another;
- start-up: ``pypack --version`` and a reused ``pypack build`` against ``python3 -c pass``.

It prints a table and writes it as JSON to ``bench/results/<date>-<mode>.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPACK = str(REPO / ".venv" / "bin" / "pypack")
BUILDER = "bench/tiny-builder:1"
RUN_IMAGE = "docker.io/pypack/stacks/tiny-run:latest"
DOCKER_BASE = "bench/tiny-run:latest"


@dataclass
class Figure:
    """One row: what was timed, its baseline, and the ratio (pypack / baseline)."""

    case: str
    pypack: float
    baseline: float
    baseline_name: str
    unit: str = "s"
    goal: str = ""

    @property
    def ratio(self) -> float:
        return self.pypack / self.baseline if self.baseline else float("inf")


@dataclass
class Bench:
    """The sizes and repetitions of one mode, and where its material lives."""

    root: Path
    env: dict[str, str]
    large_mib: int
    large_files: int
    small_mib: int
    repeat: int
    publish_mib: int
    """The app size of the publish, rebase and memory cases."""

    @property
    def home(self) -> Path:
        return self.root / "home"

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env, check=False)
        if check and done.returncode != 0:
            raise SystemExit(f"bench: {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def timed(self, *argv: str) -> float:
        started = time.perf_counter()
        self.run(*argv)
        return time.perf_counter() - started

    def peak_rss_mib(self, *argv: str) -> float:
        """Run ``argv`` and return its peak RSS (the largest of it and its children)."""
        process = subprocess.Popen(
            argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
        if status != 0:
            raise SystemExit(f"bench: {' '.join(argv)} failed")
        return usage.ru_maxrss / 1024

    def pypack(self, *args: str) -> float:
        return self.timed(PYPACK, *args)

    def docker_build(self, app: Path, tag: str) -> float:
        return self.timed("docker", "build", "-q", "-t", tag, str(app))


def in_turn(
    repeat: int, first: Callable[[], float], second: Callable[[], float]
) -> tuple[float, float]:
    """Medians of ``first`` and ``second`` run alternately ``repeat`` times."""
    a, b = [], []
    for _ in range(repeat):
        a.append(first())
        b.append(second())
    return statistics.median(a), statistics.median(b)


def make_app(root: Path, mib: int, files: int) -> Path:
    """A static site of ``files`` files of random bytes, ``mib`` MiB in all."""
    app = root / f"site-{mib}m"
    public = app / "public"
    public.mkdir(parents=True)
    (public / "index.html").write_text("<h1>bench</h1>\n")
    each = max(1, (mib << 20) // files)
    for number in range(files):
        folder = public / f"d{number % 20:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{number:05d}.bin").write_bytes(os.urandom(each))
    dockerfile(app)
    return app


def dockerfile(app: Path) -> None:
    (app / "Dockerfile").write_text(
        f"FROM {DOCKER_BASE}\nCOPY public /workspace/public\n"
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/workspace/public"]\n'
    )
    (app / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    (app / "project.toml").write_text(
        '[_]\nschema-version = "0.2"\n[io.buildpacks]\nexclude = ["Dockerfile", ".dockerignore"]\n'
    )


def set_up(bench: Bench) -> None:
    bench.run(PYPACK, "stack", "build", "tiny")
    bench.run(
        PYPACK,
        "builder",
        "create",
        BUILDER,
        "--config",
        str(REPO / "samples/builders/tiny/builder.toml"),
    )
    layout = f"oci:{bench.home / 'images'}:{RUN_IMAGE}"
    host = bench.env["DOCKER_HOST"]
    bench.run(
        "skopeo", "copy", "-q", "--dest-daemon-host", host, layout, f"docker-daemon:{DOCKER_BASE}"
    )


def build_cases(bench: Bench, name: str, app: Path) -> list[Figure]:
    """Cold, no-change and source-change builds of ``app`` against docker build."""
    image, tag = f"bench/{name}:1", f"bench-docker/{name}:1"
    build = (PYPACK, "build", image, "--builder", BUILDER, "--path", str(app))

    def cold_pypack() -> float:
        shutil.rmtree(bench.home / "reuse", ignore_errors=True)
        shutil.rmtree(bench.home / "cache", ignore_errors=True)
        return bench.timed(*build, "--clear-cache")

    def cold_docker() -> float:
        bench.run("docker", "rmi", "-f", tag, check=False)
        bench.run("docker", "builder", "prune", "-af", check=False)
        return bench.timed("docker", "build", "--no-cache", "-q", "-t", tag, str(app))

    cold = in_turn(bench.repeat, cold_pypack, cold_docker)
    same = in_turn(bench.repeat, lambda: bench.timed(*build), lambda: bench.docker_build(app, tag))
    index = app / "public" / "index.html"

    def edit_then(function: Callable[[], float]) -> Callable[[], float]:
        def edited() -> float:
            index.write_text(f"<h1>bench {time.time_ns()}</h1>\n")
            return function()

        return edited

    changed = in_turn(
        bench.repeat,
        edit_then(lambda: bench.timed(*build)),
        edit_then(lambda: bench.docker_build(app, tag)),
    )
    return [
        Figure(f"{name}: cold build", *cold, "docker build --no-cache"),
        Figure(f"{name}: nothing changed", *same, "docker build (cached)", goal="<= 1"),
        Figure(f"{name}: one file changed", *changed, "docker build (cached)", goal="<= 1"),
    ]


def tar_pipe(tree: Path, middle: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        f"tar -C {tree.parent} -cf - {tree.name} | {middle}sha256sum > /dev/null",
        shell=True,
        check=True,
    )
    return time.perf_counter() - started


def export_throughput(bench: Bench, app: Path) -> Figure:
    sys.path.insert(0, str(REPO / "bench"))
    from layer_write import pypack_layer  # the same writer the exporter uses

    from pypack.oci.layout import LayoutStore

    store = LayoutStore(bench.root / "throughput")
    tree = app / "public"
    tar_pipe(tree, "")  # page cache warm for both
    pypack, tar = in_turn(
        bench.repeat,
        lambda: pypack_layer(tree, store, compress=False)[0],
        lambda: tar_pipe(tree, ""),
    )
    # the goal, throughput >= 0.8 of tar's, is a time ratio <= 1.25
    return Figure(
        "app layer written (uncompressed)", pypack, tar, "tar -c | sha256sum", goal="<= 1.25"
    )


def publish_cases(bench: Bench, large: Path, small: Path, registry: str) -> list[Figure]:
    figures = []
    stamp = time.time_ns()

    def publish(app: Path, suffix: str) -> list[str]:
        return [
            PYPACK,
            "build",
            f"{registry}/bench/pub-{suffix}-{stamp}:1",
            "--builder",
            BUILDER,
            "--path",
            str(app),
            "--publish",
            "--insecure-registry",
            registry,
            "--no-reuse",
        ]

    large_rss = bench.peak_rss_mib(*publish(large, "rss-large"))
    small_rss = bench.peak_rss_mib(*publish(small, "rss-small"))
    figures.append(
        Figure(
            "peak RSS publishing, large app vs small",
            large_rss,
            small_rss,
            f"{bench.small_mib} MiB app",
            unit="MiB",
            goal="flat, < 150 MiB",
        )
    )
    counter = iter(range(1000))
    pypack, pipe = in_turn(
        bench.repeat,
        lambda: bench.timed(*publish(large, f"cold-{next(counter)}")),
        lambda: tar_pipe(large / "public", "gzip -1 | "),
    )
    figures.append(
        Figure(
            "cold --publish of the large app",
            pypack,
            pipe,
            "tar | gzip -1 | sha256sum",
            goal="<= 0.5",
        )
    )
    large_local = bench.peak_rss_mib(
        PYPACK,
        "build",
        "bench/rss-large:1",
        "--builder",
        BUILDER,
        "--path",
        str(large),
        "--no-reuse",
    )
    small_local = bench.peak_rss_mib(
        PYPACK,
        "build",
        "bench/rss-small:1",
        "--builder",
        BUILDER,
        "--path",
        str(small),
        "--no-reuse",
    )
    figures.append(
        Figure(
            "peak RSS exporting, large app vs small",
            large_local,
            small_local,
            f"{bench.small_mib} MiB app",
            unit="MiB",
            goal="flat, < 150 MiB",
        )
    )
    return figures


def rebase_case(bench: Bench, large: Path, small: Path) -> Figure:
    for app, image in ((large, "bench/rebase-large:1"), (small, "bench/rebase-small:1")):
        bench.run(PYPACK, "build", image, "--builder", BUILDER, "--path", str(app))
    large_time, small_time = in_turn(
        bench.repeat,
        lambda: bench.pypack("rebase", "bench/rebase-large:1"),
        lambda: bench.pypack("rebase", "bench/rebase-small:1"),
    )
    return Figure(
        "rebase, large app vs small",
        large_time,
        small_time,
        "rebase of the small app",
        goal="<= 1.2",
    )


def concurrency_case(bench: Bench, apps: list[Path]) -> Figure:
    def build(number: int, app: Path) -> None:
        bench.run(
            PYPACK,
            "build",
            f"bench/many-{number}:1",
            "--builder",
            BUILDER,
            "--path",
            str(app),
            "--no-reuse",
        )

    def together() -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(len(apps)) as pool:
            list(pool.map(build, range(len(apps)), apps))
        return time.perf_counter() - started

    def in_sequence() -> float:
        started = time.perf_counter()
        for number, app in enumerate(apps):
            build(number, app)
        return time.perf_counter() - started

    at_once, one_by_one = in_turn(bench.repeat, together, in_sequence)
    return Figure(
        f"{len(apps)} apps at once vs one after another", at_once, one_by_one, "one after another"
    )


def startup_cases(bench: Bench, app: Path) -> list[Figure]:
    bare = (sys.executable, "-c", "pass")
    bench.run(PYPACK, "build", "bench/startup:1", "--builder", BUILDER, "--path", str(app))
    version = in_turn(
        bench.repeat * 3, lambda: bench.pypack("--version"), lambda: bench.timed(*bare)
    )
    reused = in_turn(
        bench.repeat * 3,
        lambda: bench.pypack("build", "bench/startup:1", "--builder", BUILDER, "--path", str(app)),
        lambda: bench.timed(*bare),
    )
    return [
        Figure("start-up: pypack --version", *version, "python3 -c pass", goal="< 0.2 s"),
        Figure("start-up: pypack build, nothing to do", *reused, "python3 -c pass", goal="< 0.2 s"),
    ]


def services(root: Path) -> dict[str, str]:
    """Start the test services in ``root``; their environment."""
    env = {**os.environ, "PYPACK_RUN": str(root / "run")}
    done = subprocess.run(
        ["bash", str(REPO / "scripts/services.sh"), "start"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    env_file = Path(done.stdout.strip().splitlines()[-1])
    for line in env_file.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name:
            env[name] = value.strip("'\"")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the sizes the notes quote")
    options = parser.parse_args()
    mode = "full" if options.full else "short"
    root = Path(tempfile.mkdtemp(prefix="pypack-bench-", dir="/tmp"))
    root.chmod(0o755)
    env = services(root)
    try:
        env.update(
            PYPACK_HOME=str(root / "home"),
            DOCKER_HOST=env["PYPACK_TEST_DOCKER_HOST"],
            DOCKER_BUILDKIT="0",
        )
        bench = Bench(
            root,
            env,
            large_mib=500 if options.full else 32,
            large_files=2000 if options.full else 200,
            small_mib=1,
            repeat=3,
            publish_mib=1024 if options.full else 32,
        )
        figures = run_all(bench, env["PYPACK_TEST_REGISTRY"])
    finally:
        subprocess.run(
            ["bash", str(REPO / "scripts/services.sh"), "stop"],
            env=env,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
    report(figures, mode)


def run_all(bench: Bench, registry: str) -> list[Figure]:
    set_up(bench)
    static = bench.root / "static-site"
    shutil.copytree(REPO / "samples/static-site", static)
    dockerfile(static)
    large = make_app(bench.root, bench.large_mib, bench.large_files)
    small = make_app(bench.root, bench.small_mib, 10)
    figures = startup_cases(bench, static)
    figures += build_cases(bench, "static-site", static)
    figures += build_cases(bench, f"app-{bench.large_mib}mib", large)
    if bench.publish_mib != bench.large_mib:
        shutil.rmtree(large)  # the disk holds one large app at a time
        large = make_app(bench.root, bench.publish_mib, bench.large_files)
    figures.append(export_throughput(bench, large))
    figures.append(rebase_case(bench, large, small))
    figures += publish_cases(bench, large, small, registry)
    apps = [make_app(bench.root / f"many-{n}", bench.small_mib * 4, 40) for n in range(4)]
    figures.append(concurrency_case(bench, apps))
    return figures


def report(figures: list[Figure], mode: str) -> None:
    print(f"{'case':48} {'pypack':>9} {'baseline':>9}  {'ratio':>6}  baseline / goal")
    for f in figures:
        print(
            f"{f.case:48} {f.pypack:9.3f} {f.baseline:9.3f}  {f.ratio:6.2f}  "
            f"{f.baseline_name}" + (f" / goal {f.goal}" if f.goal else "")
        )
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.date.today().isoformat()
    machine = {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
    document = {
        "date": stamp,
        "mode": mode,
        "machine": machine,
        "figures": [{**asdict(f), "ratio": round(f.ratio, 3)} for f in figures],
    }
    out = results / f"{stamp}-{mode}.json"
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"bench: written {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
