// The segment editor's product picker: a search over the products the shop's orders named
// (GET /api/segments/products?q=), each match a button that adds its id to the filter's value.
import { api } from "./api.js";
import { h, fill } from "./dom.js";
import { debounce } from "./ui.js";

// `control`: the text field holding the product ids (comma-separated); the picker edits it and
// fires its `input` event, so the form recounts as if the merchant had typed.
export function productPicker(control, index) {
  const results = h("div", { class: "product-results", role: "group", "aria-label": `Matching products, filter ${index}` });
  const search = h("s-search-field", { label: "Find a product", placeholder: "Title or id", "data-role": "product-search" });

  function add(product) {
    const ids = String(control.value || "").split(",").map((item) => item.trim()).filter(Boolean);
    if (!ids.includes(String(product.id))) ids.push(String(product.id));
    control.value = ids.join(", ");
    control.dispatchEvent(new Event("input", { bubbles: true }));
  }

  const lookup = debounce(async () => {
    try {
      const { items } = await api("/segments/products", { query: { q: search.value || "", limit: 10 } });
      fill(
        results,
        items.length
          ? items.map((product) => h("s-button", { variant: "tertiary", accessibilityLabel: `Add ${product.title} (${product.id})`, onclick: () => add(product) }, `${product.title} (${product.id})`))
          : h("s-text", { tone: "subdued" }, "No product from your orders matches."),
      );
    } catch (error) {
      fill(results, h("s-text", { tone: "critical" }, error.message || "Products could not be searched."));
    }
  }, 300);

  // The search is not a filter: it must not recount the audience.
  for (const type of ["input", "change"]) {
    search.addEventListener(type, (event) => {
      event.stopPropagation();
      lookup();
    });
  }
  return h("div", { class: "product-picker" }, search, results);
}
