"""Build the installable WordPress plugin zip: `python -m integrations.woocommerce.plugin_build [OUT_DIR]`.

WordPress expects the zip to hold one folder named like the plugin's slug (personalize/personalize.php ...).
"""
from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent / "wordpress-plugin" / "personalize"
SKIP = re.compile(r"(^|/)(\.|__pycache__|node_modules)")


def plugin_version() -> str:
    header = (PLUGIN_DIR / "personalize.php").read_text()
    match = re.search(r"^\s*\*\s*Version:\s*(\S+)", header, re.M)
    return match[1] if match else "0.0.0"


def build_zip(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"personalize-{plugin_version()}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(PLUGIN_DIR.rglob("*")):
            rel = path.relative_to(PLUGIN_DIR).as_posix()
            if path.is_file() and not SKIP.search(rel):
                zf.write(path, f"personalize/{rel}")
    return target


if __name__ == "__main__":
    out = build_zip(Path(sys.argv[1] if len(sys.argv) > 1 else "dist"))
    sys.stdout.write(f"{out}\n")
