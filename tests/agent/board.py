"""A board-like root for the init-system tests: install.sh's files, BusyBox, syslogd, OpenRC.

The root is a folder staged by the real install.sh (DESTDIR), entered through chroot in a
private mount and PID namespace: /usr is this machine's /usr with the installed agent (and,
for OpenRC, Debian's OpenRC extracted by scripts/setup) laid over it, /bin and /sbin hold
BusyBox applets as on Buildroot, and /dev, /run, /tmp and /var/log are fresh. Processes started
inside (syslogd, the init script, the agent) all end with the namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, wait_until

AGENT = ROOT / "luckfox_agent"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "powerstats"
OPENRC = Path(os.environ.get("POWERSTATS_OPENRC", CACHE / "openrc"))
BOARD_PYTHON = "/usr/bin/python3"

# Run on the host side, in the new namespaces, before entering the root.
_MOUNTS = r"""
set -e
R=$1 LAYERS=$2
shift 2
mount -t overlay overlay -o "lowerdir=$R/usr:$LAYERS" "$R/usr"
mount -t proc proc "$R/proc"
for d in dev run tmp var/log; do mount -t tmpfs -o mode=755 tmpfs "$R/$d"; done
chmod 1777 "$R/tmp"
mknod -m 666 "$R/dev/null" c 1 3
mknod -m 666 "$R/dev/zero" c 1 5
mknod -m 666 "$R/dev/urandom" c 1 9
mknod -m 666 "$R/dev/random" c 1 8
exec chroot "$R" /usr/bin/env -i PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root LANG=C.UTF-8 "$@"
"""


# The namespace's first process goes on as init does: it reaps every orphan (the supervisor
# after a stop), so a stopped process is gone rather than a zombie that still answers kill -0.
_REAPER = (
    "import os, time\nwhile True:\n try: os.wait()\n except ChildProcessError: time.sleep(0.1)"
)


def free_privileged_port() -> int:
    """A port below 1024 that nothing listens on at 127.0.0.1 (only root may bind it)."""
    import socket

    for port in range(1023, 600, -1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below 1024 on 127.0.0.1")


def _need(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"needs {tool} ({hint})")
    return path


class Board:
    """A staged root with one init system; `boot()` starts syslogd and the service."""

    def __init__(self, tmp: Path, init: str, installer: Path = AGENT / "install.sh") -> None:
        if os.geteuid() != 0:
            pytest.skip("the board tests need root (namespaces, chroot, binding a port < 1024)")
        self.busybox = _need("busybox", "apt-get install busybox; scripts/setup does")
        _need("unshare", "util-linux")
        _need("nsenter", "util-linux")
        probe = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
        )
        if probe.returncode != 0:  # e.g. inside a chroot, whose / is no mount point
            pytest.skip(f"no private mount namespace here: {probe.stderr.decode().strip()}")
        if not os.access(BOARD_PYTHON, os.X_OK):
            pytest.skip(f"needs {BOARD_PYTHON}, the interpreter the board's service runs")
        if init == "openrc" and not (OPENRC / "usr/sbin/supervise-daemon").exists():
            pytest.skip(f"no OpenRC extracted at {OPENRC}; run scripts/setup")
        self.init = init
        self.root = tmp / "board"
        self.holder: subprocess.Popen[bytes] | None = None
        root = self.root
        for folder in ("etc", "bin", "proc", "dev", "run", "tmp", "var/log", "root"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        (root / "var/run").symlink_to("../run")
        (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (root / "etc/group").write_text("root:x:0:\n")
        for name in ("ld.so.cache", "hosts", "nsswitch.conf"):
            if Path("/etc", name).exists():
                shutil.copy(Path("/etc", name), root / "etc" / name)
        for link in ("lib", "lib64"):
            (root / link).symlink_to(f"usr/{link}")
        # /bin holds BusyBox as on Buildroot; OpenRC (Alpine) has its programs in /sbin.
        applets = subprocess.run(
            [self.busybox, "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
        (root / "bin/busybox").symlink_to(self.busybox)
        for applet in applets:
            if not (root / "bin" / applet).exists():
                (root / "bin" / applet).symlink_to("busybox")
        if init == "openrc":
            (root / "sbin").symlink_to("usr/sbin")
            shutil.copy(OPENRC / "etc/rc.conf", root / "etc/rc.conf")
            with (root / "etc/rc.conf").open("a") as conf:
                conf.write("\n# a test root: no network service, the loopback is up\n")
                conf.write('rc_provide="net loopback"\n')
        else:
            (root / "sbin").symlink_to("bin")
        env = {
            "PATH": f"{root / 'bin'}",
            "DESTDIR": str(root),
            "INIT": init,
            "PYTHON": BOARD_PYTHON,
            "HOME": "/nonexistent",
        }
        result = subprocess.run(
            [str(root / "bin/sh"), str(installer)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        self.service = {
            "busybox": "/etc/init.d/S95powerstats-agent",
            "openrc": "/etc/init.d/powerstats-agent",
        }[init]

    @property
    def layers(self) -> str:
        return f"{OPENRC}/usr:/usr" if self.init == "openrc" else "/usr"

    def user_ids(self, name: str = "powerstats") -> tuple[int, int]:
        for line in (self.root / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2]), int(fields[3])
        raise AssertionError(f"no {name} in the board's /etc/passwd")

    def give(self, path: Path) -> None:
        """Hand a folder of the root to the service user (install.sh does so on a board)."""
        uid, gid = self.user_ids()
        for folder, _dirs, files in os.walk(path):
            os.chown(folder, uid, gid)
            for name in files:
                os.chown(os.path.join(folder, name), uid, gid)

    def boot(self, port: int) -> None:
        """Enter the root: syslogd, then the init script's start; returns once it serves."""
        inner = (
            "syslogd -n & "
            "while [ ! -S /dev/log ]; do usleep 10000; done; "
            + (
                # The state folders OpenRC makes at boot (this root never booted OpenRC).
                "for d in daemons exclusive failed hotplugged inactive options scheduled "
                "started starting stopping tmp wasinactive; do mkdir -p /run/openrc/$d; done; "
                "echo default > /run/openrc/softlevel; "
                if self.init == "openrc"
                else ""
            )
            + f"{self.service} start; exec {BOARD_PYTHON} -c '{_REAPER}'"
        )
        self.holder = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--pid",
                "--kill-child",
                "--propagation",
                "private",
                "sh",
                "-c",
                _MOUNTS,
                "sh",
                str(self.root),
                self.layers,
                "/bin/sh",
                "-c",
                inner,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.port = port
        try:
            wait_until(self.answers, 30, "the agent to serve in the board root")
        except AssertionError:
            raise AssertionError(f"the board root did not serve:\n{self.diagnose()}") from None

    def diagnose(self) -> str:
        """What the root printed and logged, for a failure message."""
        output = ""
        if self.holder is not None:
            if self.holder.poll() is None:
                log = self.log()
                self.shutdown()
            else:
                log = ""
            assert self.holder.stdout is not None
            output = self.holder.stdout.read().decode(errors="replace")
            return f"--- console\n{output}\n--- syslog\n{log}"
        return output

    @property
    def init_pid(self) -> int:
        """The host pid of the namespace's first process."""
        assert self.holder is not None
        children = Path(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children").read_text()
        return int(children.split()[0])

    def inside(self, path: str) -> Path:
        """A path of the running root as seen from outside (its own /run, /var/log, ...)."""
        return Path(f"/proc/{self.init_pid}/root{path}")

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command inside the running root."""
        return subprocess.run(
            [
                "nsenter",
                "-t",
                str(self.init_pid),
                "-m",
                "-p",
                "-r",
                "-w",
                "/usr/bin/env",
                "-i",
                "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
                *argv,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def answers(self) -> bool:
        """The service answers its dashboard with 200."""
        return answers(self.port, "/")

    def agent_pids(self) -> list[int]:
        """Host pids of the agent processes (`serve`) in the root."""
        assert self.holder is not None
        parents = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                root = os.readlink(entry / "root")
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The interpreter itself, not the supervising loop that carries its arguments.
            # A killed process not yet reaped has an empty command line: it is gone.
            script = cmdline[1] if len(cmdline) > 1 else b""
            if root == str(self.root) and script.endswith(b"/luckfox_agent/init/launch.py"):
                parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
        # A child the agent is spawning (gzip) shows the agent's command line until its exec.
        return [pid for pid, parent in parents.items() if parent not in parents]

    def log(self) -> str:
        messages = self.inside("/var/log/messages")
        return messages.read_text(errors="replace") if messages.exists() else ""

    def shutdown(self) -> None:
        if self.holder is not None and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait(20)


def answers(port: int, path: str) -> bool:
    """An agent on 127.0.0.1:`port` answers GET `path` with 200."""
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def status_ids(pid: int) -> tuple[int, int]:
    """The real uid and gid of a process, from /proc/<pid>/status."""
    uid = gid = -1
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("Gid:"):
            gid = int(line.split()[1])
    return uid, gid
