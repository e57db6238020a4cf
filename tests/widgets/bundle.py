"""Builds the storefront script when its sources are newer than dist/, and measures what a shopper downloads."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

WIDGETS_DIR = Path(__file__).resolve().parents[2] / "widgets"
DIST = WIDGETS_DIR / "dist"
META = DIST / "meta.json"


def _stale() -> bool:
    if not META.exists():
        return True
    built = META.stat().st_mtime
    sources = [*WIDGETS_DIR.joinpath("src").rglob("*"), WIDGETS_DIR / "build.mjs", WIDGETS_DIR / "package.json"]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def ensure_built() -> None:
    """Run `npm ci` (once) and `npm run build` when dist/ is missing or older than the sources."""
    if not _stale():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to build widgets/ (apt-get install nodejs npm)")
    if not (WIDGETS_DIR / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=WIDGETS_DIR, check=True)
    subprocess.run([npm, "run", "--silent", "build"], cwd=WIDGETS_DIR, check=True)


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def _static_closure(outputs: dict, start: str) -> set[str]:
    """The output file plus every chunk it imports statically: what loads before its code can run."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [i["path"] for i in outputs[name].get("imports", []) if i["kind"] == "import-statement"]
    return seen


def bundle_sizes() -> dict[str, int]:
    """Gzip-9 bytes of the loader (with core) and of each widget (its chunks beyond what the loader loaded)."""
    outputs = json.loads(META.read_text())["outputs"]
    root = WIDGETS_DIR  # esbuild writes paths relative to the working directory of the build
    loader_out = next(o for o, v in outputs.items() if v.get("entryPoint", "").endswith("src/loader.js"))
    loader = _static_closure(outputs, loader_out)
    sizes = {"loader": sum(gzip_size(root / o) for o in loader)}
    for out, info in outputs.items():
        entry = info.get("entryPoint", "")
        if "/widgets/" in entry and out.endswith(".js"):
            own = _static_closure(outputs, out) - loader
            sizes[Path(entry).stem] = sum(gzip_size(root / o) for o in own)
    return sizes
