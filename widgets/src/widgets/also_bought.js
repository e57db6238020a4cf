// "Customers also bought": pairs with the product on the page (or the one the placeholder names).
import { renderList } from "./product_list.js";

export default (host, ctx) => renderList(host, ctx, "also_bought", { product: host.dataset.product || ctx.cfg.product });
