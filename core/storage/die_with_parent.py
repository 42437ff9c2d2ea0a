"""Exec a program that dies when the process that started it dies (Linux PR_SET_PDEATHSIG).

    python -m core.storage.die_with_parent SIGNAL PARENT_PID USER PROGRAM [ARGS...]

USER ("-" for none) is the account to run as: the switch happens here, before the signal
is armed, because a change of credentials clears it.

Setting the parent-death signal in a `preexec_fn` would run Python code between fork and
exec, which can deadlock in a multi-threaded parent; this small program sets it in a
fresh process instead (after any user switch, which would clear it) and then becomes
the real program, keeping its process id.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def _become(user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir
    os.environ["USER"] = user


def main(argv: list[str]) -> None:
    signal_name, parent_pid, user, program, *args = argv
    if user != "-":
        _become(user)
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(getattr(signal, signal_name)), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died before the signal was armed: then nobody would send it.
    if os.getppid() != int(parent_pid):
        sys.exit(1)
    os.execv(program, [program, *args])


if __name__ == "__main__":
    main(sys.argv[1:])
