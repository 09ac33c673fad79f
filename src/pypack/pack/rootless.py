"""Building stacks without root: what mmdebstrap's unshare mode needs, checked before it runs.

As an unprivileged user, mmdebstrap makes the rootfs inside a user namespace in which the user
is root and a range of subordinate ids stands for every other owner. The range comes from
``/etc/subuid`` and ``/etc/subgid`` (the first line for the user's *name*) and is mapped by the
setuid helpers ``newuidmap`` and ``newgidmap`` (Debian package ``uidmap``). The tarball it
writes then has the owners root's build has, byte for byte. When one of these pieces is
missing, :func:`problems` names each and the command that adds it, so the user gets one line
instead of mmdebstrap's "unable to pick chroot mode automatically".

``python -m pypack.pack.rootless usermod-flags USER`` prints the ``usermod`` flags that give
``USER`` a range (nothing when it has one); ``scripts/setup.sh`` uses it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SUBID_COUNT = 65536
"""Ids a range must hold: every id a Debian package may own, up to ``nobody`` (65534)."""
SUBID_FLOOR = 100000
"""Where ranges start, as ``SUB_UID_MIN`` in Debian's login.defs."""
SUBUID_FILE = Path("/etc/subuid")
SUBGID_FILE = Path("/etc/subgid")
USERNS_SYSCTLS = {
    "kernel.unprivileged_userns_clone": ("0", "1"),
    "user.max_user_namespaces": ("0", "15000"),
    "kernel.apparmor_restrict_unprivileged_userns": ("1", "0"),
}
"""Kernel settings that turn unprivileged user namespaces off: (value that blocks, fix)."""


@dataclass(frozen=True)
class SubidRange:
    """One line of ``/etc/subuid`` or ``/etc/subgid``."""

    owner: str
    start: int
    count: int

    @property
    def end(self) -> int:
        """The last id of the range."""
        return self.start + self.count - 1

    def text(self) -> str:
        """``START-END``, as ``usermod --add-subuids`` takes it."""
        return f"{self.start}-{self.end}"


def parse_subids(text: str) -> list[SubidRange]:
    """The ranges of a subid file, in file order; malformed lines are skipped."""
    ranges = []
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            continue
        ranges.append(SubidRange(parts[0], int(parts[1]), int(parts[2])))
    return ranges


def free_range(*texts: str, count: int = SUBID_COUNT) -> SubidRange:
    """The first ``count`` ids from :data:`SUBID_FLOOR` on, in steps of ``count``, that no range
    of the given files uses (so the same range can serve as subuids and subgids)."""
    taken = [r for text in texts for r in parse_subids(text)]
    start = SUBID_FLOOR
    while any(r.start <= start + count - 1 and start <= r.end for r in taken):
        start += count
    return SubidRange("", start, count)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
    except OSError:
        return None


def _userns_error() -> str | None:
    """Why this process cannot make a user namespace, or None when it can."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None  # util-linux is essential on Debian; without it, let mmdebstrap try
    done = subprocess.run(
        [unshare, "--user", "--", sys.executable, "-c", ""],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]


def _sysctls() -> dict[str, str]:
    values = {}
    for name in USERNS_SYSCTLS:
        path = Path("/proc/sys") / name.replace(".", "/")
        text = _read(path)
        if text:
            values[name] = text.strip()
    return values


@dataclass(frozen=True)
class RootlessCheck:
    """What this machine offers an unprivileged mmdebstrap (see :meth:`probe`)."""

    uid: int
    user: str | None
    """The user's name; None when the uid has no passwd entry."""
    userns_error: str | None = None
    """Why a user namespace cannot be made; None when it can."""
    newuidmap: bool = True
    newgidmap: bool = True
    subuid: str | None = ""
    """The text of /etc/subuid ("" when it does not exist, None when it cannot be read)."""
    subgid: str | None = ""
    sysctls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def probe(cls) -> RootlessCheck:
        """Look at the running user and this machine."""
        uid = os.getuid()
        try:
            user: str | None = pwd.getpwuid(uid).pw_name
        except KeyError:
            user = None
        return cls(
            uid=uid,
            user=user,
            userns_error=_userns_error(),
            newuidmap=shutil.which("newuidmap") is not None,
            newgidmap=shutil.which("newgidmap") is not None,
            subuid=_read(SUBUID_FILE),
            subgid=_read(SUBGID_FILE),
            sysctls=_sysctls(),
        )

    def problems(self) -> list[str]:
        """Each thing missing for ``mmdebstrap --mode=unshare``, with the command that fixes it."""
        found = []
        if self.userns_error is not None:
            found.append(self._userns_problem())
        if not (self.newuidmap and self.newgidmap):
            found.append("newuidmap/newgidmap are missing (sudo apt-get install uidmap)")
        if self.user is None:
            found.append(
                f"uid {self.uid} has no name in /etc/passwd, and subordinate ids are looked up "
                "by name (add the user with useradd)"
            )
            return found
        flags = self.usermod_flags()
        unreadable = [
            str(path)
            for path, text in ((SUBUID_FILE, self.subuid), (SUBGID_FILE, self.subgid))
            if text is None
        ]
        if unreadable:
            found.append(f"{' and '.join(unreadable)} cannot be read (sudo chmod 644 them)")
        elif flags:
            files = [
                str(path)
                for path, text in ((SUBUID_FILE, self.subuid), (SUBGID_FILE, self.subgid))
                if not _usable(_first_range(text, self.user))
            ]
            found.append(
                f"{self.user} has no range of {SUBID_COUNT} subordinate ids in "
                f"{' and '.join(files)} (sudo usermod {' '.join(flags)} {self.user}, "
                "or run scripts/setup.sh)"
            )
        return found

    def _userns_problem(self) -> str:
        for name, (blocking, fix) in USERNS_SYSCTLS.items():
            if self.sysctls.get(name) == blocking:
                return (
                    f"unprivileged user namespaces are off ({name} = {blocking}; "
                    f"sudo sysctl -w {name}={fix})"
                )
        if "No space left on device" in (self.userns_error or ""):  # ENOSPC: a count limit
            return (
                f"this process may make no more user namespaces ({self.userns_error}): raise "
                "user.max_user_namespaces here or in the namespace this runs in (sudo sysctl -w "
                "user.max_user_namespaces=15000)"
            )
        return (
            f"this process cannot make a user namespace ({self.userns_error}); in a container, "
            "allow unshare(CLONE_NEWUSER) in its seccomp profile, or build the stack as root"
        )

    def usermod_flags(self) -> list[str]:
        """The ``usermod`` flags that give the user a usable range of subuids and subgids, or
        nothing when both files have one (mmdebstrap reads only the user's first line, so a
        short first range is replaced, not added to)."""
        if self.user is None or self.subuid is None or self.subgid is None:
            return []
        new = free_range(self.subuid, self.subgid)
        flags = []
        for text, kind in ((self.subuid, "subuids"), (self.subgid, "subgids")):
            first = _first_range(text, self.user)
            if _usable(first):
                continue
            if first is not None:
                flags += [f"--del-{kind}", first.text()]
            flags += [f"--add-{kind}", new.text()]
        return flags


def _first_range(text: str | None, user: str) -> SubidRange | None:
    for subid in parse_subids(text or ""):
        if subid.owner == user:
            return subid
    return None


def _usable(subid: SubidRange | None) -> bool:
    return subid is not None and subid.count >= SUBID_COUNT


def main(argv: list[str]) -> int:
    """``usermod-flags USER``: print the flags that give USER a range (nothing if it has one)."""
    if len(argv) != 2 or argv[0] != "usermod-flags":
        print("usage: python -m pypack.pack.rootless usermod-flags USER", file=sys.stderr)
        return 2
    check = RootlessCheck(
        uid=-1, user=argv[1], subuid=_read(SUBUID_FILE), subgid=_read(SUBGID_FILE)
    )
    print(" ".join(check.usermod_flags()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
