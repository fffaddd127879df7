"""Every job module imports on its own, in a fresh interpreter: a plain `rq worker` imports the
job's module first, and an import cycle hidden by the app's usual import order would crash it
(jobs.webhooks did: services.campaigns -> links -> reports -> campaigns)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import jobs


def test_every_job_module_imports_first_in_a_fresh_interpreter(project_root):
    names = [info.name for info in pkgutil.walk_packages(jobs.__path__, "jobs.")]
    script = (
        "import importlib, subprocess, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    done = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True)\n"
        "    if done.returncode:\n"
        "        failed.append(name + ': ' + done.stderr.strip().splitlines()[-1])\n"
        "print('\\n'.join(failed))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *names],
        check=False,
        cwd=project_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.strip() == ""
    assert "jobs.webhooks" in names
