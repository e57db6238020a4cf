// Bestsellers: overall, or for the collection the placeholder (or a product page) names; segmented on the server.
// On a collection page the grid already lists that collection, so the widget shows bestsellers from outside it.
import { renderList } from "./product_list.js";

export default (host, ctx) => {
  const { collection, product } = ctx.cfg;
  const own = host.dataset.collection;
  const params = !own && collection && !product ? { exclude_collection: collection } : { collection: own || collection };
  return renderList(host, ctx, "bestsellers", params);
};
