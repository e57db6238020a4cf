"""The built storefront script (widgets/dist) as the app serves it itself: the demo store's pages and WooCommerce
stores load it from here (Shopify's theme app extension serves its own copy from Shopify's CDN).

Every file the build writes is named by its content hash, so it is cached for a year as immutable: a new build is a
new URL and nothing stale is ever served. The unhashed `personalize.js` (kept for pages rendered before a build)
is cached briefly. The build also writes `.br` and `.gz` copies; the one the browser accepts is sent as it is.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

DIST = settings.BASE_DIR / "widgets" / "dist"
ASSET_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\.(js|css)")
HASHED = re.compile(r".+-[A-Z0-9]{8}\.(js|css)")
LOADER = "personalize.js"
YEAR = "public, max-age=31536000, immutable"
BRIEF = "public, max-age=300"
# Accept-Encoding token → (file suffix, Content-Encoding), best first.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


@lru_cache(maxsize=4)
def _manifest(mtime: float) -> dict[str, str]:
    try:
        return json.loads((DIST / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def loader_name() -> str:
    """The loader's hashed file name from the last build (the unhashed copy when there is no manifest)."""
    path = DIST / "manifest.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return LOADER
    name = _manifest(mtime).get(LOADER, LOADER)
    return name if ASSET_NAME.fullmatch(name) else LOADER


def loader_path() -> str:
    """The loader's path on the app, e.g. /demo/assets/personalize-AB12CD34.js."""
    return reverse("demostore-asset", args=[loader_name()])


def _accepts(request: HttpRequest) -> set[str]:
    """Content codings the browser accepts ("br;q=0" refuses br)."""
    accepted = set()
    for part in request.headers.get("Accept-Encoding", "").lower().split(","):
        token, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=")
        try:
            weight = float(q) if params.strip().startswith("q=") else 1.0
        except ValueError:
            weight = 0.0
        if token and weight > 0:
            accepted.add(token.strip())
    return accepted


def serve(request: HttpRequest, name: str) -> HttpResponse:
    if not ASSET_NAME.fullmatch(name) or not (DIST / name).is_file():
        raise Http404("no such asset")
    path: Path = DIST / name
    encoding = ""
    accepted = _accepts(request)
    for token, suffix in ENCODINGS:
        if token in accepted and (DIST / (name + suffix)).is_file():
            path, encoding = DIST / (name + suffix), token
            break
    response = HttpResponse(path.read_bytes(), content_type="text/javascript" if name.endswith(".js") else "text/css")
    if encoding:
        response["Content-Encoding"] = encoding
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = YEAR if HASHED.fullmatch(name) else BRIEF
    # Stores on other origins (WooCommerce) load it as a module script, which the browser fetches in CORS mode;
    # the script is public and carries no credentials.
    response["Access-Control-Allow-Origin"] = "*"
    return response
