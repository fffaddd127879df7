// Building the page from data. Merchant and shopper text only ever becomes a text node or an
// attribute value, never markup: there is no innerHTML anywhere in the admin's modules.

// h("s-button", {variant: "primary", onclick: fn}, "Save")
//   - string/number children become text nodes; null/false are skipped; arrays are flattened;
//   - `on<event>` props add listeners; props whose name starts with "." set properties;
//   - true sets an empty attribute, false/null/undefined leave it out.
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key.startsWith(".")) element[key.slice(1)] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

// Replace an element's children (a skeleton, a previous page of rows) with new ones.
export function fill(target, ...children) {
  const element = typeof target === "string" ? document.getElementById(target) : target;
  element.replaceChildren();
  element.removeAttribute("aria-busy");
  return append(element, children);
}

export function byId(id) {
  return document.getElementById(id);
}
