"""What "approve for this session" may cover, and the exact shape it binds: bash commands.

A person who approves `wc -l data/train.csv` for the session allows commands of that exact shape from then on:
the same program, the same options in the same order, and the same number of plain operands (other file names),
shown on the card as `wc -l <arg>`. It used to allow the program's name alone, so approving
`CUDA_VISIBLE_DEVICES=0 python train.py` let `CUDA_VISIBLE_DEVICES=0 rm -rf DIR` run without a card, and approving
`sed`, `find` or `python` let `sed -f`, `find -delete` and `python new_file.py` run.

It is offered only for programs on SESSION_PROGRAMS, read-only programs that have no option to run another
program or to write, move or delete a file; never for anything on DENIED (kept beside it so a review reads both),
never for a program on neither list, never for a `NAME=value` prefix, a path as the program, or shell syntax.
"""

from __future__ import annotations

import json
import re
from typing import Protocol


class ActionSpec(Protocol):
    """The fields of approval.ActionSpec this module reads (approval.py imports this module)."""

    tool: str
    command: tuple[str, ...]
    arguments_json: str

# Reviewed one by one: none of these has an option that runs a program or writes, moves or deletes a file.
# Left out on purpose although read-mostly: file (-C writes), tree (-o), sort (-o, --compress-program), uniq
# (an output operand), xxd (-r writes), nvidia-smi (-f writes, and it changes GPU settings), date (-s).
SESSION_PROGRAMS = frozenset({
    "ls", "cat", "head", "tail", "wc", "du", "df", "stat", "pwd", "echo", "whoami", "id", "uname", "nproc", "free",
    "uptime", "lscpu", "which", "basename", "dirname", "realpath", "readlink", "md5sum", "sha1sum", "sha256sum",
    "sha512sum", "grep", "egrep", "fgrep", "cut", "nl", "diff", "cmp", "comm", "column", "jq", "hexdump", "od",
    "strings",
})  # fmt: skip

# Never offered, whatever the options: interpreters and shells, programs that run other programs, editors and
# pagers with shell escapes, build tools, package managers, version control, network clients, and programs that
# delete, move or overwrite files.
DENIED = frozenset({
    # interpreters, shells, notebooks
    "bash", "sh", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox", "python", "python2", "python3", "pypy",
    "pypy3", "ipython", "jupyter", "perl", "ruby", "node", "nodejs", "deno", "bun", "php", "lua", "R", "Rscript",
    "julia", "java", "scala", "sed", "awk", "gawk", "mawk", "nawk",
    # programs that run other programs
    "find", "xargs", "parallel", "env", "nice", "nohup", "timeout", "time", "watch", "stdbuf", "setsid", "sudo", "su",
    "doas", "chroot", "unshare", "nsenter", "strace", "ltrace", "gdb", "exec", "eval", "source", ".", "command",
    "builtin", "pytest", "tox", "nox", "accelerate", "torchrun", "deepspeed", "make", "cmake", "ninja", "bazel",
    "gcc", "g++", "cc", "clang", "nvcc", "go", "cargo", "rustc", "docker", "podman", "kubectl", "crontab", "at",
    "systemctl", "service", "vim", "vi", "nano", "emacs", "less", "more", "man",
    # version control and package managers
    "git", "hg", "svn", "pip", "pip3", "pipx", "uv", "uvx", "conda", "mamba", "micromamba", "poetry", "apt",
    "apt-get", "dpkg", "yum", "dnf", "brew", "npm", "npx", "yarn", "pnpm", "huggingface-cli", "hf",
    # network clients
    "curl", "wget", "ssh", "scp", "sftp", "rsync", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "aria2c",
    # delete, move, overwrite, change
    "rm", "rmdir", "unlink", "shred", "truncate", "dd", "mv", "cp", "ln", "install", "chmod", "chown", "chgrp",
    "tee", "sort", "uniq", "split", "csplit", "tar", "zip", "unzip", "gzip", "gunzip", "bzip2", "xz", "zstd", "7z",
    "tree", "file", "xxd", "nvidia-smi", "kill", "pkill", "killall", "mount", "umount", "mkfs", "date", "hostname",
})  # fmt: skip

# One plain command: no chaining, substitution, redirection, globbing, quoting or line breaks can hide a second
# program or widen what the operands mean.
_PLAIN_COMMAND = re.compile(r"[\w./:=,@%+\- ]+")
OPERAND = "<arg>"


def _remote(spec: ActionSpec) -> bool:
    try:
        return json.loads(spec.arguments_json).get("sandbox") is True
    except (ValueError, AttributeError):
        return True  # unreadable: never treated as a plain local command


def session_shape(spec: ActionSpec) -> str | None:
    """The shape "approve for this session" would allow for this action, or None when it is not offered."""
    if spec.tool != "bash" or len(spec.command) != 1 or _remote(spec):
        return None
    if not _PLAIN_COMMAND.fullmatch(spec.command[0]):
        return None
    words = spec.command[0].split()
    # A `NAME=value` prefix or a path (`./ls`) is never a listed name, so neither is ever offered.
    if not words or words[0] not in SESSION_PROGRAMS or words[0] in DENIED:
        return None
    return " ".join([words[0], *(word if word.startswith("-") else OPERAND for word in words[1:])])
