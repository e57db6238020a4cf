"""The merchant's product rules screen: complementary rules ("jackets -> hats, gloves") and re-buyable products.

Runs under the dashboard's `merchant_view` and on `request.shop` only: every product, collection and rule id a form
sends is looked up inside that shop, so another shop's id is refused (400) or not found (404), never used.
Changes go to the dashboard's audit trail.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.catalog.models import Collection, Product
from backend.catalog.picker import chosen
from backend.dashboard import audit
from backend.dashboard.auth import merchant_view
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link
from backend.shops.models import Shop

from .complementary import MAX_TARGETS, save_rule
from .models import ComplementaryRule, ProductPreference

# The add forms' pickers post platform ids, one hidden input per chosen item (templates/storefront/_picker.html).
PICKED = {"source_product": "p", "source_collection": "c", "target_products": "p", "target_collections": "c"}


def _picked(shop: Shop, post, field: str, cap: int) -> list[tuple[str, int]] | None:
    """A picker's items as refs ("p" | "c", pk) of `shop`, in the merchant's order; None when an id is not in this
    shop's catalogue (another shop's, deleted meanwhile, or made up)."""
    kind = PICKED[field]
    ids = [v[:64] for v in post.getlist(field)[:cap] if v.strip()]
    if not ids:
        return []
    model = Product if kind == "p" else Collection
    pks = dict(model.objects.for_shop(shop).filter(platform_id__in=ids).values_list("platform_id", "pk"))
    if any(i not in pks for i in ids):
        return None
    return [(kind, pks[i]) for i in dict.fromkeys(ids)]


def _titles(shop: Shop, refs: list[tuple[str, int]]) -> list[str]:
    """Picker values as the merchant chose them, by title (the activity trail shows words, not ids)."""
    from backend.catalog.models import Collection

    products = dict(Product.objects.for_shop(shop).filter(pk__in=[pk for k, pk in refs if k == "p"])
                    .values_list("pk", "title"))
    collections = dict(Collection.objects.for_shop(shop).filter(pk__in=[pk for k, pk in refs if k == "c"])
                       .values_list("pk", "title"))
    return [(products if kind == "p" else collections).get(pk, "?") for kind, pk in refs]


def _add_rule(shop: Shop, post) -> tuple[str, tuple[str, int] | None, list[tuple[str, int]]]:
    """Save a rule from the form: the problem in the page's language ("" when saved), its source and targets."""
    sources = [_picked(shop, post, f, 2) for f in ("source_product", "source_collection")]
    products = _picked(shop, post, "target_products", MAX_TARGETS + 1)
    collections = _picked(shop, post, "target_collections", MAX_TARGETS + 1)
    if None in (*sources, products, collections):  # an id from another shop or one deleted meanwhile
        return _("One of the chosen products or collections is not in your catalogue."), None, []
    chosen = sources[0] + sources[1]
    targets = products + collections
    if len(chosen) != 1:
        return _("Choose the product or collection the rule starts from."), None, []
    source = chosen[0]
    if not targets:
        return _("Choose at least one product or collection to show with it."), source, []
    if len(targets) > MAX_TARGETS:
        return _("At most %(n)s products and collections per rule.") % {"n": MAX_TARGETS}, source, []
    if source in targets:
        return _("A product or collection cannot complement itself."), source, []
    try:
        save_rule(shop, source_product=source[1] if source[0] == "p" else None,
                  source_collection=source[1] if source[0] == "c" else None,
                  target_products=[pk for kind, pk in targets if kind == "p"],
                  target_collections=[pk for kind, pk in targets if kind == "c"])
    except ValidationError:  # deleted between the lookup and the save
        return _("One of the chosen products or collections is not in your catalogue."), source, []
    return "", source, targets


def _rule_rows(shop: Shop) -> list[dict]:
    rules = (ComplementaryRule.objects.for_shop(shop).select_related("source_product", "source_collection")
             .prefetch_related("target_products", "target_collections").order_by("pk"))
    return [{"pk": r.pk,
             "source": r.source_product.title if r.source_product else r.source_collection.title,
             "source_is_collection": r.source_collection_id is not None,
             "targets": [p.title for p in r.target_products.all()] + [c.title for c in r.target_collections.all()]}
            for r in rules]


@merchant_view
@require_http_methods(["GET", "POST"])
def product_rules(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    lang = page_lang(request, shop)
    problem = ""
    if request.method == "POST":
        action = request.POST.get("action", "")[:32]
        if action == "add_rule":
            problem, source, targets = _add_rule(shop, request.POST)
            if not problem:
                audit.record(shop, request, "complementary_rule.added", "product_rules", None,
                             {"source": ", ".join(_titles(shop, [source])),
                              "targets": ", ".join(_titles(shop, targets))})
        elif action == "remove_rule":
            raw = request.POST.get("rule", "")[:12]
            rule = ComplementaryRule.objects.for_shop(shop).filter(pk=int(raw)).first() if raw.isdecimal() else None
            if rule is None:
                raise Http404("no such rule in this shop")
            source = ("p", rule.source_product_id) if rule.source_product_id else ("c", rule.source_collection_id)
            audit.record(shop, request, "complementary_rule.removed", "product_rules",
                         {"source": ", ".join(_titles(shop, [source]))}, None)
            rule.delete()
        elif action in ("add_rebuyable", "remove_rebuyable"):
            # Added from the picker (the platform's id); removed from the list (our own id).
            products = Product.objects.for_shop(shop)
            if action == "add_rebuyable":
                raw = request.POST.get("rebuy_product", "")[:64]
                product = products.filter(platform_id=raw).first() if raw else None
            else:
                raw = request.POST.get("product", "")[:12]
                product = products.filter(pk=int(raw)).first() if raw.isdecimal() else None
            if product is None:
                problem = _("Choose a product from your catalogue.")
            else:
                on = action == "add_rebuyable"
                ProductPreference.objects.for_shop(shop).update_or_create(
                    shop=shop, product=product, defaults={"rebuyable": on})
                audit.record(shop, request, "product.rebuyable", f"product:{product.pk}",
                             {"rebuyable": not on}, {"rebuyable": on})
        else:
            problem = _("Unknown action.")
        if not problem:
            return redirect(link(request, "/admin/product-rules/", lang, saved=1))
    # A refused form keeps what the merchant picked, as chips.
    post = request.POST if problem else None
    picked = {}
    for field, kind in (*PICKED.items(), ("rebuy_product", "p")):
        ids = [v[:64] for v in post.getlist(field)[:MAX_TARGETS]] if post else []
        picked[field] = chosen(shop, "product" if kind == "p" else "collection", ids)
    rebuyable = (ProductPreference.objects.for_shop(shop).filter(rebuyable=True).select_related("product")
                 .order_by("product__title"))
    return render(request, "recommendations/product_rules.html", {
        "lang": lang, "shop": shop, "id_token": getattr(request, "session_token", ""),
        "rules": _rule_rows(shop), "rebuyable": [(p.product_id, p.product.title) for p in rebuyable],
        "picked": picked, "problem": problem,
        "saved": request.GET.get("saved") == "1", "max_targets": MAX_TARGETS,
    }, status=400 if problem else 200)


@merchant_view
@require_http_methods(["GET", "POST"])
def audiences(request: HttpRequest) -> HttpResponse:
    """Audience attribute mapping: add or change an audience (by its name), or remove one."""
    from . import audiences as audience_rules
    from .models import AudienceMapping

    shop = request.shop
    lang = page_lang(request, shop)
    problems: list[str] = []
    form = None
    if request.method == "POST":
        action = request.POST.get("action", "")[:32]
        if action == "save":
            form, problems = audience_rules.read_form(request.POST)
            if not problems:
                before = AudienceMapping.objects.for_shop(shop).filter(value=form.value).values(
                    "customer_tag", "product_tag").first()
                try:
                    audience_rules.save(shop, form)
                except ValueError as exc:
                    problems.append(str(exc))
                else:
                    audit.record(shop, request, "audience_mapping.saved", f"audience_mapping:{form.value}", before,
                                 {"customer_tag": form.customer_tag, "product_tag": form.product_tag})
        elif action == "remove":
            raw = request.POST.get("audience", "")[:12]
            mapping = AudienceMapping.objects.for_shop(shop).filter(pk=int(raw)).first() if raw.isdecimal() else None
            if mapping is None:
                raise Http404("no such audience in this shop")
            audit.record(shop, request, "audience_mapping.removed", f"audience_mapping:{mapping.value}",
                         {"customer_tag": mapping.customer_tag, "product_tag": mapping.product_tag}, None)
            mapping.delete()
        else:
            problems.append(_("Unknown action."))
        if not problems:
            return redirect(link(request, "/admin/audience-tags/", lang, saved=1))
    customer_tags, product_tags = audience_rules.known_tags(shop)
    rows = [{"pk": m.pk, "value": m.value, "customer_tag": m.customer_tag, "product_tag": m.product_tag,
             "customers": customer_tags.get(m.customer_tag.lower(), 0) if m.customer_tag else None,
             "products": product_tags.get(m.product_tag.lower(), 0) if m.product_tag else None}
            for m in AudienceMapping.objects.for_shop(shop).order_by("value")]
    return render(request, "recommendations/audiences.html", {
        "lang": lang, "shop": shop, "rows": rows, "problems": problems, "form": form,
        "saved": request.GET.get("saved") == "1",
        "customer_tags": [t for t, _n in customer_tags.most_common(200)],
        "product_tags": [t for t, _n in product_tags.most_common(200)],
        "value_max": audience_rules.VALUE_MAX, "tag_max": audience_rules.TAG_MAX,
    }, status=400 if problems else 200)
