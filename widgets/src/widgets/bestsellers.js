// Bestsellers: overall, or for the collection the placeholder (or the page) names; segmented on the server.
import { renderList } from "./product_list.js";

export default (host, ctx) =>
  renderList(host, ctx, "bestsellers", { collection: host.dataset.collection || ctx.cfg.collection });
