"""jsii's kernel, run in the one node process that Python starts.

jsii's stock runtime is a host process that starts the kernel as its child, then copies every
request from Python's pipe to the child and every response back: each of the thousands of calls
a synthesis makes crosses two more pipes and wakes two more event loops. `use_direct_kernel`
runs jsii's own kernel program (the pinned jsii release's file, byte for byte but for the
channel's file descriptors) straight on the pipes Python gave it, and wraps the console output
of libraries the way the host does. At 200 services this is about 0.7 s of a synthesis, and one
node process less in memory (README, "Scale and speed").

It must run before anything imports aws_cdk (which starts the kernel). When the pinned jsii
changes so that its kernel no longer matches, or JSII_RUNTIME is already set, jsii's own host
is used as before; tests/test_jsii_kernel.py fails in the first case, so an upgrade notices.
"""

from __future__ import annotations

import atexit
import importlib.resources
import os
import shutil
import tempfile
from pathlib import Path

# How the kernel opens its channel: one socket on fd 3, which the host process provides.
HOSTED_CHANNEL = b"readFD:3,writeFD:3"
# Python's own pipes: requests on stdin, responses on stdout.
DIRECT_CHANNEL = b"readFD:0,writeFD:1"
KERNEL = "lib/program.js"
ENTRY = "bin/ecsforge-direct.js"

# stdout carries the protocol now, so console output of libraries goes to stderr as JSON
# lines {"stdout"|"stderr": base64}, which jsii's Python side decodes as it does the host's.
# Replacing the streams before first use also keeps node from making fd 1 non-blocking.
ENTRY_SOURCE = """\
'use strict';
const fs = require('fs');
const { Writable } = require('stream');
function console_stream(key) {
  return new Writable({
    write(chunk, encoding, callback) {
      const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding);
      fs.writeSync(2, JSON.stringify({ [key]: data.toString('base64') }) + '\\n');
      callback();
    },
  });
}
// jsii links its cached packages into the kernel's node_modules only when --preserve-symlinks
// is among the kernel's node options, as its host passes it; otherwise it copies all of
// aws-cdk-lib at every start. NODE_PRESERVE_SYMLINKS gives node that behaviour already.
if (!process.execArgv.includes('--preserve-symlinks')) process.execArgv.push('--preserve-symlinks');
for (const key of ['stdout', 'stderr']) {
  const stream = console_stream(key);
  Object.defineProperty(process, key, { configurable: true, enumerable: true, get: () => stream });
}
require('../lib/program.js');
"""


def kernel_files() -> dict[str, bytes]:
    """jsii's embedded runtime files by relative path, as jsii's Python side extracts them."""
    from jsii._embedded import jsii as embedded

    folder = importlib.resources.files(embedded)
    return {path: folder.joinpath(name).read_bytes() for name, path in embedded.EMBEDDED_FILES.items()}


def direct_files() -> dict[str, bytes] | None:
    """The runtime files with the kernel on Python's pipes, or None if this jsii's kernel
    does not open its channel the way this module expects."""
    files = kernel_files()
    if files.get(KERNEL, b"").count(HOSTED_CHANNEL) != 1:
        return None
    files[KERNEL] = files[KERNEL].replace(HOSTED_CHANNEL, DIRECT_CHANNEL)
    files[ENTRY] = ENTRY_SOURCE.encode()
    return files


def direct_kernel_environment(folder: Path) -> dict[str, str] | None:
    """Write the direct kernel into `folder`; the environment that makes jsii start it, or None
    if this jsii's kernel does not match."""
    files = direct_files()
    if files is None:
        return None
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return {
        "JSII_RUNTIME": str(folder / ENTRY),
        # The host starts the kernel with --preserve-symlinks: jsii links cached packages into
        # the kernel's node_modules, and each must find its peers there, not at the link's target.
        "NODE_PRESERVE_SYMLINKS": "1",
    }


def use_direct_kernel() -> bool:
    """Point this process's jsii at the direct kernel; True if it will be used."""
    if "JSII_RUNTIME" in os.environ:
        return False  # someone chose a runtime already
    folder = Path(tempfile.mkdtemp(prefix="ecsforge-jsii-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    environment = direct_kernel_environment(folder)
    if environment is None:
        return False
    os.environ.update(environment)
    return True
