// "Recommended for you" (home and cart pages): products that go with the shopper's own purchases, cart and views,
// chosen on the server (bestsellers of their segment without history or analytics consent). On a product page the
// product shown is left out.
import { renderList } from "./product_list.js";

export default (host, ctx) => renderList(host, ctx, "for_you", { product: host.dataset.product || ctx.cfg.product });
