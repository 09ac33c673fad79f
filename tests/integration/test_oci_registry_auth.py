"""Basic auth (htpasswd) and the bearer-token flow against real registries, end to end."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pypack.oci.auth import Keychain
from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from pypack.oci.registry import RegistryAuthError, RegistryClient
from pypack.oci.stores import RegistryImageStore
from tests.integration.registries import (
    PASSWORD,
    USER,
    TokenService,
    htpasswd_auth,
    registry_process,
)

pytestmark = pytest.mark.integration


def small_image(tmp: Path) -> Image:
    image = Image.empty()
    path = tmp / "layer.tar.gz"
    image.add_layer(
        path,
        write_layer_file(path, lambda w: w.add_bytes("auth.txt", b"secret stuff"), compress=True),
    )
    return image


def docker_config(tmp: Path, registry: str, password: str) -> Keychain:
    auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
    path = tmp / "docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    return Keychain(environ={}, docker_config=path)


def cnb_registry_auth(registry: str, password: str) -> Keychain:
    header = "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()
    return Keychain(
        environ={"CNB_REGISTRY_AUTH": json.dumps({registry: header})},
        docker_config=Path("/nonexistent"),
    )


def round_trip(keychain: Keychain, registry: str, tmp: Path) -> None:
    store = RegistryImageStore(keychain)
    image = small_image(tmp)
    result = store.save(image, [f"{registry}/private/app:1"])
    pulled = store.load(f"{registry}/private/app:1")
    assert pulled is not None
    assert pulled.digest == result.digest
    with pulled.layers[0].open_uncompressed() as tar:
        assert b"secret stuff" in tar.read()


def test_basic_auth_with_docker_config_and_cnb_registry_auth(tmp_path: Path) -> None:
    with registry_process(tmp_path / "reg", htpasswd_auth(tmp_path / "reg")) as registry:
        round_trip(docker_config(tmp_path, registry, PASSWORD), registry, tmp_path)
        round_trip(cnb_registry_auth(registry, PASSWORD), registry, tmp_path)


def test_basic_auth_wrong_password_is_clear_and_keeps_the_secret(tmp_path: Path) -> None:
    wrong = "not-the-Pa55word"
    with registry_process(tmp_path / "reg", htpasswd_auth(tmp_path / "reg")) as registry:
        client = RegistryClient(registry, keychain=docker_config(tmp_path, registry, wrong))
        with pytest.raises(RegistryAuthError) as info:
            client.ping()
        message = str(info.value)
        assert message.startswith(f"registry {registry}: ping: 401 UNAUTHORIZED")
        assert "user 'alice'" in message
        assert wrong not in message
        assert PASSWORD not in message
        anonymous = RegistryClient(
            registry, keychain=Keychain(environ={}, docker_config=Path("/nonexistent"))
        )
        with pytest.raises(
            RegistryAuthError,
            match="needs credentials; log in with docker login or set CNB_REGISTRY_AUTH",
        ):
            anonymous.ping()


def test_bearer_token_flow(tmp_path: Path) -> None:
    tokens = TokenService(tmp_path / "tokens")
    with tokens.running(), registry_process(tmp_path / "reg", tokens.auth_yaml()) as registry:
        round_trip(docker_config(tmp_path, registry, PASSWORD), registry, tmp_path)
        scopes = [scope for seen in tokens.requests_seen for scope in seen["scope"]]
        assert "repository:private/app:pull,push" in scopes
        assert "repository:private/app:pull" in scopes
        assert {seen["user"] for seen in tokens.requests_seen} == {USER}


def test_bearer_token_wrong_password(tmp_path: Path) -> None:
    wrong = "wrong-Pa55word-token"
    tokens = TokenService(tmp_path / "tokens")
    with tokens.running(), registry_process(tmp_path / "reg", tokens.auth_yaml()) as registry:
        store = RegistryImageStore(docker_config(tmp_path, registry, wrong))
        with pytest.raises(RegistryAuthError) as info:
            store.save(small_image(tmp_path), [f"{registry}/private/app:1"])
        message = str(info.value)
        assert message == (
            f"registry {registry}: the token service refused user 'alice'; "
            "check the credentials in the Docker config or CNB_REGISTRY_AUTH"
        )
        assert wrong not in message
