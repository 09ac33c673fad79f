"""Registry faults: a proxy in front of the real registry drops connections, answers 500 or 429
with ``Retry-After``, cuts answers off, and lies; pypack retries and completes with the digest
of a direct push, or fails with one line and leaves the previous tag as it was, and refuses
every lie without keeping any of it.

The random faults come from a seeded RNG: the seed is in every assertion message, and
``PYPACK_FAULT_SEED`` replays one. The short default runs a few dozen faults; the ``slow``
variants run the same code with many more operations.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pypack.errors import PypackError
from pypack.oci import mediatypes
from pypack.oci.image import Image
from pypack.oci.layers import LayerInfo, LayerWriter, write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.registry import RegistryClient
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from tests.conftest import tool
from tests.e2e.busybox_stack import Stack, stack
from tests.integration.registries import (
    FaultyProxy,
    corrupt_blob,
    manifest_bytes,
    manifest_content_type,
    manifest_stored_as,
)

__all__ = ["stack"]

pytestmark = pytest.mark.integration

LAYERS = 4
LAYER_SIZE = 300_000  # random bytes: gzip keeps them this size, and a cut-off GET is resumed
RATE = 0.25
SHORT_ROUNDS, SLOW_ROUNDS = 6, 60
RETRY_AFTER = 1  # seconds, as the proxy's 429 answers ask


def fault_seed() -> int:
    """``PYPACK_FAULT_SEED`` if set (to replay a run), else a new one."""
    value = os.environ.get("PYPACK_FAULT_SEED")
    return int(value) if value else random.SystemRandom().randrange(2**32)


@dataclass
class Tally:
    """Faults injected and survived and lies refused over the module, printed at its end."""

    injected: Counter[str] = field(default_factory=Counter)
    survived: int = 0
    lies_told: int = 0
    lies_refused: int = 0
    random_runs: list[str] = field(default_factory=list)

    def add(self, proxy: FaultyProxy, *, survived: bool) -> None:
        faults = [seen.fault for seen in proxy.injected()]
        self.injected.update(faults)
        self.survived += len(faults) if survived else 0
        if proxy.rate:
            self.random_runs.append(proxy.summary())


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    result = Tally()
    yield result
    # the figures the note asks for (run with -s to see them)
    print(
        f"\nregistry faults: {sum(result.injected.values())} injected "
        f"({', '.join(f'{k} {v}' for k, v in sorted(result.injected.items()))}), "
        f"{result.survived} survived; lies: {result.lies_told} told, "
        f"{result.lies_refused} refused"
    )
    for run in result.random_runs:
        print(f"  random faults, {run}")


@pytest.fixture(scope="module")
def layer_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, LayerInfo]]:
    """Gzipped layers of random (incompressible) bytes, made once for the module."""
    root = tmp_path_factory.mktemp("layers")
    made = []
    rng = random.Random(15)
    for number in range(LAYERS):
        content = rng.randbytes(LAYER_SIZE)
        path = root / f"layer{number}.tar.gz"
        fill = functools.partial(_add_file, f"data/{number}", content)
        info = write_layer_file(path, fill, compress=True)
        made.append((path, info))
    return made


def _add_file(name: str, content: bytes, writer: LayerWriter) -> None:
    writer.add_bytes(name, content)


def multi_layer_image(layer_files: list[tuple[Path, LayerInfo]], label: str = "1") -> Image:
    """A fresh image of the module's layers (a push changes its layers' origins)."""
    image = Image.empty()
    for path, info in layer_files:
        image.add_layer(path, info)
    image.set_label("robustness", label)
    return image


def quick_client(registry: str, *, retries: int = 4) -> RegistryClient:
    """A client with a short backoff: the waits a test measures are the ones asked for."""
    return RegistryClient(registry, retries=retries, backoff=0.01)


def store_for(*, retries: int = 4) -> RegistryImageStore:
    return RegistryImageStore(client_factory=lambda host: quick_client(host, retries=retries))


def direct_digest(registry: str, repository: str, tag: str) -> str:
    """The tag's digest, asked of the registry itself (not through the proxy)."""
    return RegistryClient(registry).get_manifest(repository, tag).digest


def skopeo_digest(registry: str, repository: str, tag: str) -> str:
    done = subprocess.run(
        [tool("skopeo"), "inspect", "--tls-verify=false", f"docker://{registry}/{repository}:{tag}"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return str(json.loads(done.stdout)["Digest"])


def blobs_intact(layout: LayoutStore) -> list[str]:
    """What is wrong in the local store: the store's own check (every blob an image reaches
    matches its digest, no writer's leftovers), and any blob no image reaches yet (the layers
    of a pull that failed) whose content does not match its name."""
    check = layout.check()
    bad = [*check.problems, *(f"left behind: {path.name}" for path in check.leftovers)]
    for digest in check.unreferenced:
        try:
            layout.read_blob(digest)
        except PypackError as error:
            bad.append(str(error))
    return bad


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text, repr(error)
    assert "\n" not in text, repr(text)
    return text


def assert_retry_after_honoured(proxy: FaultyProxy, at_least: float) -> int:
    """Every 429 was followed by the same request no sooner than ``at_least`` seconds later
    (the proxy's own arrival times); return how many 429s were checked."""
    checked = 0
    for index, seen in enumerate(proxy.seen):
        if seen.fault != "429":
            continue
        retry = next(
            (s for s in proxy.seen[index + 1 :] if (s.method, s.path) == (seen.method, seen.path)),
            None,
        )
        assert retry is not None, f"a 429 was not retried: {seen}; {proxy.summary()}"
        waited = retry.at - seen.at
        assert waited >= at_least, (
            f"retried {seen.method} {seen.path} {waited:.3f}s after a 429 that asked for "
            f"{at_least}s; {proxy.summary()}"
        )
        checked += 1
    return checked


# --- (1) random faults: pushes and pulls complete, with the digest of a direct push ----------


def push_and_pull_under_faults(
    registry: str, layer_files: list[tuple[Path, LayerInfo]], tmp: Path, rounds: int, tally: Tally
) -> None:
    seed = fault_seed()
    expected = RegistryImageStore().save(
        multi_layer_image(layer_files), [f"{registry}/robust/direct:1"]
    )
    with FaultyProxy(registry, rate=RATE, seed=seed, retry_after=str(RETRY_AFTER)).running() as p:
        for number in range(rounds):
            name = f"{p.address}/robust/faulty-{seed}-{number}:1"
            try:
                pushed = store_for().save(multi_layer_image(layer_files), [name])
                pulled = store_for().load(name)
                assert pulled is not None
                local = LayoutImageStore(LayoutStore(tmp / f"pulled-{number}"))
                saved = local.save(pulled, [f"faulty-{number}"])
            except PypackError as error:
                raise AssertionError(f"round {number}: {error}; {p.summary()}") from None
            assert pushed.digest == expected.digest, p.summary()
            assert pulled.digest == expected.digest, p.summary()
            assert saved.digest == expected.digest, p.summary()
            assert blobs_intact(local.layout) == [], p.summary()
            pushed_tag = f"robust/faulty-{seed}-{number}"
            assert direct_digest(registry, pushed_tag, "1") == expected.digest, p.summary()
        kinds = {seen.fault for seen in p.injected()}
        assert len(p.injected()) >= rounds, p.summary()  # about 5 a round at this rate
        assert kinds >= {"drop", "500", "429"} or rounds < 5, p.summary()
        assert_retry_after_honoured(p, RETRY_AFTER)
        tally.add(p, survived=True)


def test_pushes_and_pulls_complete_under_random_faults(
    registry: str, layer_files: list[tuple[Path, LayerInfo]], tmp_path: Path, tally: Tally
) -> None:
    push_and_pull_under_faults(registry, layer_files, tmp_path, SHORT_ROUNDS, tally)


@pytest.mark.slow
def test_many_pushes_and_pulls_complete_under_random_faults(
    registry: str, layer_files: list[tuple[Path, LayerInfo]], tmp_path: Path, tally: Tally
) -> None:
    push_and_pull_under_faults(registry, layer_files, tmp_path, SLOW_ROUNDS, tally)


# --- (2) a lasting fault: one line, the previous tag untouched ------------------------------

LASTING = [
    ("manifest-500", r"^PUT /v2/.+/manifests/", "500", r"PUT manifest robust/lasting:1: 500"),
    ("upload-429", r"^PUT /v2/.+/blobs/uploads/", "429", r"upload blob sha256:\w+ .*: 429"),
    ("all-drop", r"", "drop", r"ping|HEAD blob .*cannot connect"),
]


@pytest.mark.parametrize(
    ("case", "pattern", "fault", "names"), LASTING, ids=[c[0] for c in LASTING]
)
def test_a_lasting_fault_fails_in_one_line_and_keeps_the_previous_tag(
    registry: str,
    layer_files: list[tuple[Path, LayerInfo]],
    tally: Tally,
    case: str,
    pattern: str,
    fault: str,
    names: str,
) -> None:
    repository = f"robust/lasting-{case}"
    previous = RegistryImageStore().save(
        multi_layer_image(layer_files, "previous"), [f"{registry}/{repository}:1"]
    )
    proxy = FaultyProxy(registry, lasting=(pattern, fault), retry_after="1")
    with proxy.running():
        newer = multi_layer_image(layer_files[:2], f"newer {case}")
        with pytest.raises(PypackError) as failed:
            store_for(retries=2).save(newer, [f"{proxy.address}/{repository}:1"])
    line = one_line(failed.value).replace(repository, "robust/lasting")
    assert line.startswith(f"registry {proxy.address}: "), line
    assert re.search(names, line), line
    assert "tried 3 times" in line, line
    fixes = {
        "500": "try again later",
        "429": "wait and try again",
        "drop": "is the registry running and reachable?",
    }
    assert line.endswith(fixes[fault]) or fixes[fault] in line, line
    assert direct_digest(registry, repository, "1") == previous.digest
    assert skopeo_digest(registry, repository, "1") == previous.digest
    tally.add(proxy, survived=False)


def test_a_lasting_fault_on_a_pull_leaves_nothing_in_the_local_store(
    registry: str, layer_files: list[tuple[Path, LayerInfo]], tmp_path: Path, tally: Tally
) -> None:
    RegistryImageStore().save(multi_layer_image(layer_files), [f"{registry}/robust/pull:1"])
    local = LayoutImageStore(LayoutStore(tmp_path / "store"))
    cut = layer_files[2][1].digest  # every GET of this layer is cut off half-way
    with FaultyProxy(registry, lasting=(f"^GET /v2/.+/blobs/{cut}$", "truncate")).running() as p:
        pulled = store_for(retries=2).load(f"{p.address}/robust/pull:1")
        assert pulled is not None
        with pytest.raises(PypackError) as failed:
            local.save(pulled, ["pull"])
    line = one_line(failed.value)
    assert re.fullmatch(
        rf"registry {p.address}: GET blob robust/pull@{cut}: connection lost after \d+ bytes "
        r"\(\w+, tried 3 times\); is the registry reachable\?",
        line,
    ), line
    assert [seen.fault for seen in p.seen if seen.path.endswith(cut)] == ["truncate"] * 3
    assert not local.exists("pull")
    assert not local.layout.has_blob(cut)
    assert blobs_intact(local.layout) == []
    tally.add(p, survived=False)


# --- (3) 429 with Retry-After: the client waits as long as asked, up to its cap -------------


@pytest.mark.parametrize("seconds", [1, 2])
def test_retry_after_is_honoured(registry: str, seconds: int, tally: Tally) -> None:
    # requests 1 and 2 (the HEAD of the tag, then its retry) answer 429
    proxy = FaultyProxy(registry, {1: "429", 2: "429"}, retry_after=str(seconds))
    with proxy.running():
        assert quick_client(proxy.address).head_manifest("robust/direct", "1") is not None
    assert [seen.fault for seen in proxy.seen] == ["429", "429", ""], proxy.summary()
    assert assert_retry_after_honoured(proxy, seconds) == 2
    tally.add(proxy, survived=True)


def test_a_long_retry_after_is_capped(registry: str, tally: Tally) -> None:
    proxy = FaultyProxy(registry, {1: "429"}, retry_after="3600")
    with proxy.running():
        client = RegistryClient(proxy.address, backoff=0.01, max_wait=0.5)
        assert client.head_manifest("robust/direct", "1") is not None
    waited = proxy.seen[1].at - proxy.seen[0].at
    assert 0.5 <= waited < 30, f"waited {waited:.3f}s for Retry-After: 3600 capped at 0.5s"
    tally.add(proxy, survived=True)


# --- (4) a lying registry is refused, and nothing of the lie is kept ------------------------


def pull_into(local: LayoutImageStore, name: str, tag: str) -> None:
    """Pull ``name`` into the local store as ``tag``, as a build pulls a builder or run image."""
    pulled = store_for().load(name)
    assert pulled is not None
    local.save(pulled, [tag])


def test_a_blob_whose_bytes_do_not_match_its_digest_is_refused(
    registry: str, layer_files: list[tuple[Path, LayerInfo]], tmp_path: Path, tally: Tally
) -> None:
    pushed = RegistryImageStore().save(multi_layer_image(layer_files), [f"{registry}/robust/lie:1"])
    config = RegistryClient(registry).get_manifest("robust/lie", "1").manifest().config.digest
    for number, digest in enumerate([layer_files[1][1].digest, config]):
        local = LayoutImageStore(LayoutStore(tmp_path / f"store-{number}"))
        proxy = FaultyProxy(registry, lies=(corrupt_blob(digest),))
        with proxy.running(), pytest.raises(PypackError) as failed:
            pull_into(local, f"{proxy.address}/robust/lie:1", "lie")
        line = one_line(failed.value)
        match = re.fullmatch(
            rf"registry {proxy.address}: blob {digest}: content has digest (sha256:\w+), "
            rf"expected {digest}",
            line,
        )
        assert match is not None, line
        assert proxy.lies_told == 1
        assert not local.exists("lie")
        assert not local.layout.exists() or not local.layout.has_blob(match.group(1))
        assert blobs_intact(local.layout) == []
        tally.lies_told += proxy.lies_told
        tally.lies_refused += 1
    assert direct_digest(registry, "robust/lie", "1") == pushed.digest


@pytest.mark.parametrize(
    "content_type",
    [mediatypes.OCI_INDEX, mediatypes.DOCKER_MANIFEST, "text/html"],
    ids=["index", "docker-manifest", "html"],
)
def test_a_manifest_of_the_wrong_media_type_is_refused(
    registry: str,
    layer_files: list[tuple[Path, LayerInfo]],
    tmp_path: Path,
    content_type: str,
    tally: Tally,
) -> None:
    pushed = RegistryImageStore().save(multi_layer_image(layer_files), [f"{registry}/robust/lie:1"])
    local = LayoutImageStore(LayoutStore(tmp_path / "store"))
    proxy = FaultyProxy(registry, lies=(manifest_content_type(content_type),))
    with proxy.running(), pytest.raises(PypackError) as failed:
        pull_into(local, f"{proxy.address}/robust/lie:1", "lie")
    line = one_line(failed.value)
    assert line.startswith(
        f"registry {proxy.address}: manifest robust/lie:1 ({pushed.digest}): served as "
        f"{content_type} but the document is {mediatypes.OCI_MANIFEST}"
    ), line
    assert not local.layout.exists() or local.layout.descriptors() == []
    tally.lies_told += proxy.lies_told
    tally.lies_refused += 1


def test_a_manifest_whose_bytes_do_not_match_the_digest_asked_for_is_refused(
    registry: str, layer_files: list[tuple[Path, LayerInfo]], tmp_path: Path, tally: Tally
) -> None:
    pushed = RegistryImageStore().save(multi_layer_image(layer_files), [f"{registry}/robust/lie:1"])
    other = RegistryImageStore().save(
        multi_layer_image(layer_files[:1], "other"), [f"{registry}/robust/other:1"]
    )
    other_raw = RegistryClient(registry).get_manifest("robust/other", "1").raw
    local = LayoutImageStore(LayoutStore(tmp_path / "store"))
    for reference in ("1", pushed.digest):  # by tag (the digest header) and by digest
        with FaultyProxy(registry, lies=(manifest_bytes(other_raw),)).running() as proxy:
            name = f"{proxy.address}/robust/lie{':' if reference == '1' else '@'}{reference}"
            with pytest.raises(PypackError) as failed:
                pull_into(local, name, "lie")
        assert one_line(failed.value) == (
            f"registry {proxy.address}: manifest robust/lie:{reference}: content has digest "
            f"{other.digest}, expected {pushed.digest}"
        )
        assert not local.layout.exists() or local.layout.descriptors() == []
        tally.lies_told += proxy.lies_told
        tally.lies_refused += 1


def test_a_registry_that_says_it_stored_another_manifest_is_refused(
    registry: str, layer_files: list[tuple[Path, LayerInfo]], tally: Tally
) -> None:
    fake = "sha256:" + "0" * 64
    proxy = FaultyProxy(registry, lies=(manifest_stored_as(fake),))
    image = multi_layer_image(layer_files, "stored-as")
    with proxy.running(), pytest.raises(PypackError) as failed:
        store_for().save(image, [f"{proxy.address}/robust/stored-as:1"])
    sent = image.manifest_document().digest
    assert one_line(failed.value) == (
        f"registry {proxy.address}: stored manifest as {fake}, sent {sent}"
    )
    tally.lies_told += proxy.lies_told
    tally.lies_refused += 1


# --- (5) the CLI: pypack build --publish through the proxy ----------------------------------

ERROR_LINE = re.compile(r"^ERROR: .+$")
BUILT = re.compile(r"Successfully built image \S+ \((sha256:[0-9a-f]{64})\)")


def publish(
    stack: Stack, proxy: FaultyProxy, app: Path, *, check: bool
) -> subprocess.CompletedProcess[str]:
    return stack.pypack(
        "build", f"{proxy.address}/robust/app:1", "--builder", "test/builder:1",
        "--path", str(app), "--publish", "--insecure-registry", proxy.address,
        check=check,
    )  # fmt: skip


def publish_under_faults(stack: Stack, registry: str, builds: int, tally: Tally) -> None:
    """``builds`` builds of a changing app published through a proxy failing at random."""
    seed = fault_seed()
    app = stack.app(f"faults-app-{seed}")
    with FaultyProxy(registry, rate=RATE, seed=seed, retry_after="1").running() as proxy:
        for number in range(builds):
            (app / "hello.txt").write_text(f"build {number}")
            done = publish(stack, proxy, app, check=False)
            assert done.returncode == 0, f"{proxy.summary()}\n{done.stdout}\n{done.stderr}"
            built = BUILT.search(done.stdout)
            assert built is not None, done.stdout
            assert skopeo_digest(registry, "robust/app", "1") == built.group(1), proxy.summary()
    assert len(proxy.injected()) >= builds, proxy.summary()
    assert_retry_after_honoured(proxy, 1)
    tally.add(proxy, survived=True)


def test_build_publish_survives_random_faults(stack: Stack, registry: str, tally: Tally) -> None:
    publish_under_faults(stack, registry, 1, tally)


@pytest.mark.slow
def test_many_build_publishes_survive_random_faults(
    stack: Stack, registry: str, tally: Tally
) -> None:
    publish_under_faults(stack, registry, 10, tally)


def test_build_publish_fails_in_one_line_when_a_fault_lasts(
    stack: Stack, registry: str, tally: Tally
) -> None:
    app = stack.app("lasting-app")
    direct = FaultyProxy(registry)  # no faults: the previous image
    with direct.running():
        publish(stack, direct, app, check=True)
    previous = direct_digest(registry, "robust/app", "1")
    (app / "hello.txt").write_text("changed")  # a real build, not a reused one
    lasting = FaultyProxy(registry, lasting=(r"^PUT /v2/.+/manifests/", "500"))
    with lasting.running():
        failed = publish(stack, lasting, app, check=False)
    assert failed.returncode != 0
    assert "Traceback" not in failed.stdout + failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, failed.stderr
    assert ERROR_LINE.match(errors[0]), failed.stderr
    assert f"registry {lasting.address}: PUT manifest robust/app:1: 500" in errors[0], errors
    assert "try again later" in errors[0], errors
    assert direct_digest(registry, "robust/app", "1") == previous
    assert skopeo_digest(registry, "robust/app", "1") == previous
    tally.add(lasting, survived=False)
