import pytest

from backend.catalog.models import Product
from backend.core.scoping import UnscopedQueryError


@pytest.mark.django_db
def test_unscoped_query_is_refused(shop):
    with pytest.raises(UnscopedQueryError):
        list(Product.objects.filter(title="x"))
    with pytest.raises(UnscopedQueryError):
        Product.objects.create(platform_id="1", title="no shop")


@pytest.mark.django_db
def test_for_shop_sees_only_that_shop(shop, other_shop):
    Product.objects.create(shop=shop, platform_id="1", title="A's jacket")
    Product.objects.create(shop=other_shop, platform_id="1", title="B's jacket")
    assert [p.title for p in Product.objects.for_shop(shop)] == ["A's jacket"]
    assert [p.title for p in Product.objects.for_shop(other_shop)] == ["B's jacket"]


@pytest.mark.django_db
def test_related_managers_stay_usable(shop):
    p = Product.objects.create(shop=shop, platform_id="1", title="Hat")
    p.variants.create(shop=shop, platform_id="v1", price="10.00")
    assert [v.platform_id for v in p.variants.all()] == ["v1"]


@pytest.mark.django_db
def test_tokens_are_encrypted_at_rest(shop):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT access_token FROM shops_shop WHERE id = %s", [shop.pk])
        raw = cur.fetchone()[0]
    assert "shpat_test_token" not in raw
    shop.refresh_from_db()
    assert shop.access_token == "shpat_test_token"


@pytest.mark.django_db
def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["database"] == "ok"
