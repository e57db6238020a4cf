"""The storefront script as the app serves it: one hashed loader (no chunk imported before it runs), cached a year
as immutable, compressed the way the browser asks."""
from __future__ import annotations

import gzip
import json

import pytest
from django.urls import reverse

from backend.demostore import assets
from tests.widgets.bundle import ensure_built


@pytest.fixture(scope="module", autouse=True)
def built():
    ensure_built()


def test_the_loader_is_one_request_under_a_hashed_name():
    name = assets.loader_name()
    assert assets.HASHED.fullmatch(name) and name.startswith("personalize-"), name
    outputs = json.loads((assets.DIST / "meta.json").read_text())["outputs"]
    loader = outputs[f"dist/{name}"]
    assert loader["entryPoint"].endswith("src/loader.js")
    assert [i for i in loader["imports"] if i["kind"] == "import-statement"] == [], "core must not be a 2nd request"
    assert (assets.DIST / "personalize.js").read_bytes() == (assets.DIST / name).read_bytes()


@pytest.mark.parametrize("accept, encoding, decode", [
    ("gzip, deflate, br, zstd", "br", None),  # the build's own brotli copy (no brotli decoder in our deps)
    ("gzip, deflate", "gzip", gzip.decompress),
    ("br;q=0, gzip", "gzip", gzip.decompress),
    ("", "", bytes),
])
def test_hashed_assets_are_immutable_and_compressed_as_asked(client, accept, encoding, decode):
    name = assets.loader_name()
    res = client.get(reverse("demostore-asset", args=[name]), HTTP_ACCEPT_ENCODING=accept)
    assert res.status_code == 200 and res["Content-Type"] == "text/javascript"
    assert res["Cache-Control"] == "public, max-age=31536000, immutable" and "Accept-Encoding" in res["Vary"]
    assert res.get("Content-Encoding", "") == encoding
    if decode is None:
        assert res.content == (assets.DIST / f"{name}.br").read_bytes()
        assert len(res.content) < len(gzip.compress((assets.DIST / name).read_bytes(), 9))
    else:
        assert decode(res.content) == (assets.DIST / name).read_bytes()
    # The unhashed copy (older pages, Shopify's CDN copy) is only cached briefly.
    plain = client.get(reverse("demostore-asset", args=["personalize.js"]), HTTP_ACCEPT_ENCODING=accept)
    assert plain["Cache-Control"] == "public, max-age=300"


@pytest.mark.django_db
def test_the_demo_store_names_the_hashed_loader(client):
    from tests.widgets.factories import seed_store

    store = seed_store(origin="http://testserver")
    page = client.get(reverse("demostore-home", args=[store.shop.domain])).content.decode()
    assert f'src="{assets.loader_path()}"' in page
    assert client.get("/demo/assets/settings.py").status_code == 404
    assert client.get("/demo/assets/manifest.json").status_code == 404
    assert client.get(reverse("demostore-asset", args=["nope-ABCDEFGH.js"])).status_code == 404
