"""What an unprivileged mmdebstrap needs: each missing piece is named with the command that
adds it, and the subordinate range setup.sh asks for never overlaps an existing one."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from pypack.pack import rootless
from pypack.pack.rootless import RootlessCheck, SubidRange, free_range, parse_subids

READY = "dev:100000:65536\n"


def check(**changes: object) -> RootlessCheck:
    values: dict[str, object] = {"uid": 1500, "user": "dev", "subuid": READY, "subgid": READY}
    values.update(changes)
    return RootlessCheck(**values)  # type: ignore[arg-type]


def test_parse_keeps_file_order_and_skips_malformed_lines() -> None:
    text = "# comment\nalice:165536:65536\nbroken\nbob:x:1\ndev:100000:65536\n"
    assert parse_subids(text) == [
        SubidRange("alice", 165536, 65536),
        SubidRange("dev", 100000, 65536),
    ]


def test_free_range_steps_past_every_range_of_both_files() -> None:
    assert free_range("", "").text() == "100000-165535"
    assert free_range(READY, "").text() == "165536-231071"
    assert free_range("", "x:170000:10\n", READY).text() == "231072-296607"


def test_a_ready_machine_has_no_problems() -> None:
    assert check().problems() == []
    assert check().usermod_flags() == []


def test_missing_uidmap_names_the_package() -> None:
    (problem,) = check(newgidmap=False).problems()
    assert problem == "newuidmap/newgidmap are missing (sudo apt-get install uidmap)"


def test_missing_range_gives_the_usermod_command() -> None:
    other = "alice:100000:65536\n"
    (problem,) = check(subuid=other, subgid=other).problems()
    assert problem == (
        "dev has no range of 65536 subordinate ids in /etc/subuid and /etc/subgid "
        "(sudo usermod --add-subuids 165536-231071 --add-subgids 165536-231071 dev, "
        "or run scripts/setup.sh)"
    )


def test_a_short_first_range_is_replaced() -> None:
    short = "dev:100000:1000\n"
    assert check(subgid=short).usermod_flags() == [
        "--del-subgids",
        "100000-100999",
        "--add-subgids",
        "165536-231071",
    ]
    assert "in /etc/subgid (" in check(subgid=short).problems()[0]


def test_unreadable_files_and_nameless_users() -> None:
    assert check(subuid=None).problems() == ["/etc/subuid cannot be read (sudo chmod 644 them)"]
    (problem,) = check(user=None).problems()
    assert problem.startswith("uid 1500 has no name in /etc/passwd")


@pytest.mark.parametrize(
    ("sysctls", "expected"),
    [
        (
            {"kernel.unprivileged_userns_clone": "0"},
            "unprivileged user namespaces are off (kernel.unprivileged_userns_clone = 0; "
            "sudo sysctl -w kernel.unprivileged_userns_clone=1)",
        ),
        (
            {"kernel.apparmor_restrict_unprivileged_userns": "1"},
            "unprivileged user namespaces are off (kernel.apparmor_restrict_unprivileged_userns"
            " = 1; sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)",
        ),
    ],
)
def test_user_namespaces_turned_off_name_the_sysctl(sysctls: dict[str, str], expected: str) -> None:
    assert check(userns_error="unshare failed", sysctls=sysctls).problems() == [expected]


def test_a_used_up_namespace_limit_names_the_sysctl() -> None:
    error = "unshare: unshare failed: No space left on device"
    (problem,) = check(userns_error=error).problems()
    assert problem == (
        f"this process may make no more user namespaces ({error}): raise "
        "user.max_user_namespaces here or in the namespace this runs in "
        "(sudo sysctl -w user.max_user_namespaces=15000)"
    )


def test_every_problem_is_reported_at_once() -> None:
    problems = check(userns_error="Operation not permitted", newuidmap=False, subuid="").problems()
    assert len(problems) == 3
    assert problems[0].startswith("this process cannot make a user namespace")


def test_probe_describes_this_machine() -> None:
    probed = RootlessCheck.probe()
    assert (probed.uid, probed.user) == (os.getuid(), pwd.getpwuid(os.getuid()).pw_name)
    subuid = Path("/etc/subuid")
    assert probed.subuid == (subuid.read_text() if subuid.exists() else "")


def test_usermod_flags_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(rootless, "_read", lambda path: READY)
    assert rootless.main(["usermod-flags", "dev"]) == 0
    assert capsys.readouterr().out == "\n"
    assert rootless.main(["usermod-flags", "newcomer"]) == 0
    assert capsys.readouterr().out == ("--add-subuids 165536-231071 --add-subgids 165536-231071\n")
    assert rootless.main([]) == 2
