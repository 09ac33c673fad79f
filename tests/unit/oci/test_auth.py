"""Where credentials come from: CNB_REGISTRY_AUTH, the Docker config, credential helpers."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from pypack.oci.auth import ANONYMOUS, Credentials, CredentialsError, Keychain
from pypack.oci.registry import Challenge, RegistryClient


def config_file(tmp: Path, data: dict[str, object]) -> Path:
    path = tmp / "config.json"
    path.write_text(json.dumps(data))
    return path


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_cnb_registry_auth_wins() -> None:
    env = {"CNB_REGISTRY_AUTH": json.dumps({"reg.example.com": "Basic " + b64("u:p")})}
    keychain = Keychain(environ=env, docker_config=Path("/nonexistent/config.json"))
    assert keychain.resolve("reg.example.com").header == "Basic " + b64("u:p")
    assert keychain.resolve("other.example.com") is ANONYMOUS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "CNB_REGISTRY_AUTH: not JSON"),
        ('["a"]', "expected a JSON object"),
        ('{"r": "nospace"}', "r: expected a header value like 'Basic <base64>'"),
    ],
)
def test_cnb_registry_auth_errors(value: str, message: str) -> None:
    keychain = Keychain(environ={"CNB_REGISTRY_AUTH": value}, docker_config=Path("/x"))
    with pytest.raises(CredentialsError, match=message):
        keychain.resolve("r")


def test_docker_config_auths(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        {
            "auths": {
                "reg.example.com": {"auth": b64("alice:s3cret")},
                "https://index.docker.io/v1/": {"username": "bob", "password": "pw"},
                "tok.example.com": {"identitytoken": "refresh-me"},
            }
        },
    )
    keychain = Keychain(environ={}, docker_config=path)
    alice = keychain.resolve("reg.example.com")
    assert (alice.username, alice.password) == ("alice", "s3cret")
    assert keychain.resolve("docker.io").username == "bob"
    assert keychain.resolve("tok.example.com").identity_token == "refresh-me"
    assert keychain.resolve("none.example.com").anonymous


def test_docker_config_from_env_dir(tmp_path: Path) -> None:
    config_file(tmp_path, {"auths": {"r.example": {"auth": b64("x:y")}}})
    keychain = Keychain(environ={"DOCKER_CONFIG": str(tmp_path)})
    assert keychain.resolve("r.example").username == "x"


def fake_helper(tmp: Path, name: str, answer: str, code: int = 0) -> dict[str, str]:
    """A docker-credential-<name> program on PATH that prints ``answer``."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        f'#!/bin/sh\nread server\necho "$server" > {tmp}/{name}.asked\n'
        f"cat <<'EOF'\n{answer}\nEOF\nexit {code}\n"
    )
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_cred_helpers_and_creds_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = fake_helper(tmp_path, "ecr", json.dumps({"Username": "AWS", "Secret": "tok"}))
    fake_helper(tmp_path, "store", json.dumps({"Username": "<token>", "Secret": "idtok"}))
    monkeypatch.setenv("PATH", env["PATH"])
    path = config_file(tmp_path, {"credHelpers": {"ecr.example.com": "ecr"}, "credsStore": "store"})
    keychain = Keychain(environ={}, docker_config=path)
    ecr = keychain.resolve("ecr.example.com")
    assert (ecr.username, ecr.password) == ("AWS", "tok")
    assert (tmp_path / "ecr.asked").read_text() == "ecr.example.com\n"
    assert keychain.resolve("other.example.com").identity_token == "idtok"


def test_missing_helper_is_a_clear_error(tmp_path: Path) -> None:
    path = config_file(tmp_path, {"credHelpers": {"r.example": "nosuchhelper"}})
    with pytest.raises(CredentialsError, match="docker-credential-nosuchhelper is not on PATH"):
        Keychain(environ={}, docker_config=path).resolve("r.example")


def test_secrets_stay_out_of_repr_and_descriptions() -> None:
    creds = Credentials(username="alice", password="s3cret-value")
    assert "s3cret-value" not in repr(creds)
    assert "s3cret-value" not in creds.describe()
    assert creds.describe() == "user 'alice'"
    header = Credentials(header="Bearer abc.def")
    assert "abc.def" not in repr(header) + header.describe()


def test_challenge_parsing() -> None:
    challenge = Challenge.parse(
        'Bearer realm="http://127.0.0.1:9/token",service="reg",scope="repository:a/b:pull,push"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "http://127.0.0.1:9/token",
        "service": "reg",
        "scope": "repository:a/b:pull,push",
    }
    assert Challenge.parse('Basic realm="Registry Realm"').scheme == "basic"


@pytest.mark.parametrize(
    ("registry", "insecure", "url"),
    [
        ("registry.example.com", False, "https://registry.example.com"),
        ("registry.example.com:5000", True, "http://registry.example.com:5000"),
        ("127.0.0.1:5000", False, "http://127.0.0.1:5000"),
        ("localhost:5000", False, "http://localhost:5000"),
        ("docker.io", False, "https://registry-1.docker.io"),
    ],
)
def test_plain_http_only_for_loopback_or_when_asked(
    registry: str, insecure: bool, url: str
) -> None:
    assert RegistryClient(registry, insecure=insecure).base_url == url
