"""Imported by every bench: the environment `make` gives the app (scripts/env.sh), so that
`.venv/bin/python bench/<name>.py` works as the README says: the project's tools first on PATH (bun, not the
machine's old Node.js), Reflex's folders inside the project, no telemetry, and the project importable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _registry() -> str:
    try:
        out = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "https://registry.npmjs.org/"
    except (OSError, subprocess.SubprocessError):
        return "https://registry.npmjs.org/"


os.environ["PATH"] = os.pathsep.join([str(ROOT / ".venv/bin"), str(ROOT / ".tools/node_modules/.bin"),
                                      os.environ.get("PATH", "")])
os.environ.setdefault("REFLEX_DIR", str(ROOT / ".tools/reflex"))
os.environ.setdefault("BUN_INSTALL_CACHE_DIR", str(ROOT / ".tools/bun-cache"))
os.environ.setdefault("REFLEX_BUN_PATH", str(ROOT / ".tools/node_modules/.bin/bun"))
os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")
os.environ.setdefault("PYTHONUNBUFFERED", "1")
if "NPM_CONFIG_REGISTRY" not in os.environ:
    os.environ["NPM_CONFIG_REGISTRY"] = _registry()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
