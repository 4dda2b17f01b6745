"""A job's guard: the job dies with the engine that started it.

Run as ``python -I -S jobguard.py FD -- COMMAND...`` (no package imports: it starts in a few
milliseconds). The engine keeps the write end of a pipe whose read end is ``FD``; when the
engine's process ends for any reason (kill -9 included) the kernel closes that end, the
guard reads end-of-file and kills the job's process group. Otherwise it waits for the job and
exits as the job did (its code, or the same signal), so the engine sees the job's own status.
SIGTERM, which the engine sends to the whole group to stop a job, is for the job: the guard
waits for the job to end, then exits as it did.
"""

from __future__ import annotations

import os
import select
import signal
import sys

CANNOT_START = 127  # the shell's code for a command that cannot be run
CANNOT_START_MARK = "jobguard: "


def main(argv: list[str]) -> int:
    fd, command = int(argv[0]), argv[2:]
    child = os.fork()
    if child == 0:
        os.close(fd)
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            os.write(2, f"{CANNOT_START_MARK}cannot start {command[0]}: {exc.strerror}\n".encode())
            os._exit(CANNOT_START)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # after the fork: the job keeps the default
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watched = [fd]
    pidfd = os.pidfd_open(child) if hasattr(os, "pidfd_open") else None
    if pidfd is not None:
        watched.append(pidfd)
    while True:
        readable, _, _ = select.select(watched, [], [], None if pidfd is not None else 0.1)
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            break
        if fd in readable and not os.read(fd, 1):  # the engine is gone: so is its job
            os.killpg(os.getpgid(0), signal.SIGKILL)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
