// "Continue shopping": the visitor's recently viewed products, newest first, minus the one on the page.
import { renderList } from "./product_list.js";

export default (host, ctx) => renderList(host, ctx, "recently_viewed", { product: host.dataset.product || ctx.cfg.product });
