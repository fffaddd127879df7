// A test stand-in for Shopify's Polaris web components (cdn.shopify.com/shopifycloud/polaris-1.js).
// Each `s-*` tag the admin uses (docs/admin.md) renders as the native element it stands for, in
// an open shadow root with slots, so roles, labels, focus and axe-core test something real.
// It is not Polaris: no look beyond legible defaults, no attributes the screens do not use.
//
// Conventions of every class here:
//   - render() builds the shadow root once, on first connection; update() reflects attributes
//     and runs again whenever an observed attribute changes (screens set `error`, `disabled`,
//     `loading` after render);
//   - events the screens listen to (`input`, `change`, `click`) arrive on the host, bubbling.
(() => {
  "use strict";

  let uid = 0;
  const nextId = (prefix) => `smsb-${prefix}-${++uid}`;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    node.append(...children);
    return node;
  }

  function style(text) {
    return el("style", {}, text);
  }

  function toggleAttr(node, name, on, value = "") {
    if (on) node.setAttribute(name, value);
    else node.removeAttribute(name);
  }

  // Screens write `accessibilityLabel="..."`; HTML lowercases attribute names.
  const ACCESSIBILITY_LABEL = "accessibilitylabel";

  // Headings nest with sections: a section's heading is h2, one inside it h3, and so on.
  function headingLevel(host) {
    let level = 2;
    for (let node = host.parentElement; node; node = node.parentElement) {
      if (node.localName === "s-section" && node.hasAttribute("heading")) level += 1;
    }
    return Math.min(level, 6);
  }

  const BASE_CSS = ":host{font:14px/1.4 system-ui,sans-serif;color:#1a1a1a}:host([hidden]),[hidden]{display:none!important}";

  class Component extends HTMLElement {
    static observedAttributes = [];

    constructor() {
      super();
      // A property set before this class was defined would hide the accessor: set it again.
      for (const name of this.constructor.upgradedProperties || []) {
        if (Object.prototype.hasOwnProperty.call(this, name)) {
          const value = this[name];
          delete this[name];
          this[name] = value;
        }
      }
    }

    connectedCallback() {
      if (!this.shadowRoot) {
        this.attachShadow({ mode: "open", delegatesFocus: this.constructor.delegatesFocus || false });
        this.shadowRoot.append(style(BASE_CSS + (this.constructor.css || "")));
        this.render(this.shadowRoot);
      }
      this.update();
    }

    attributeChangedCallback(name, previous, value) {
      if (this.shadowRoot) this.update(name, value);
    }

    render() {}

    update() {}
  }

  // --- actions -----------------------------------------------------------------------------

  // <s-button>: a <button> (or an <a> with `href`); `type="submit"` submits its form;
  // `command="--show|--hide|--toggle"` with `commandFor="<modal id>"` opens and closes a modal.
  class Button extends Component {
    static observedAttributes = ["variant", "tone", "disabled", "loading", "href", "target", "type", ACCESSIBILITY_LABEL];
    static delegatesFocus = true;
    static css =
      "button,a{display:inline-block;font:inherit;padding:.375rem .75rem;border-radius:.5rem;border:1px solid #8a8a8a;background:#fff;color:#1a1a1a;text-decoration:none;cursor:pointer}" +
      ".primary{background:#303030;border-color:#303030;color:#fff}.critical{color:#8e1f0b;border-color:#8e1f0b}" +
      ".primary.critical{background:#8e1f0b;color:#fff}.tertiary{border-color:transparent;background:transparent}" +
      "button:disabled{opacity:.7;cursor:default}";

    // One default slot, moved into whichever of the two is shown: a second one would stay empty.
    render(root) {
      // One slot, moved into whichever control shows: a second default slot gets no content.
      this.contentSlot = el("slot");
      this.button = el("button", { part: "button", type: "button" });
      this.link = el("a", { part: "button" });
      this.button.addEventListener("click", () => this.activate());
      root.append(this.button, this.link);
    }

    update() {
      const href = this.getAttribute("href");
      const busy = this.hasAttribute("loading");
      const classes = [this.getAttribute("variant") || "secondary", this.getAttribute("tone") || ""].join(" ");
      for (const control of [this.button, this.link]) {
        control.className = classes;
        toggleAttr(control, "aria-label", this.hasAttribute(ACCESSIBILITY_LABEL), this.getAttribute(ACCESSIBILITY_LABEL));
        toggleAttr(control, "aria-busy", busy, "true");
      }
      this.link.hidden = href === null;
      this.button.hidden = href !== null;
      (href === null ? this.button : this.link).append(this.contentSlot);
      if (href !== null) {
        this.link.href = href;
        toggleAttr(this.link, "target", this.hasAttribute("target"), this.getAttribute("target"));
        // A disabled link is a link without href, announced as disabled.
        if (this.hasAttribute("disabled") || busy) this.link.removeAttribute("href");
        toggleAttr(this.link, "aria-disabled", this.hasAttribute("disabled"), "true");
      }
      this.button.disabled = this.hasAttribute("disabled") || busy;
    }

    activate() {
      if (this.getAttribute("type") === "submit") {
        const form = this.closest("form");
        if (form) form.requestSubmit();
      }
      const command = this.getAttribute("command");
      const target = this.getAttribute("commandfor") && document.getElementById(this.getAttribute("commandfor"));
      if (command && target) {
        const method = { "--show": "showOverlay", "--hide": "hideOverlay", "--toggle": "toggleOverlay" }[command];
        if (method && typeof target[method] === "function") target[method]();
      }
    }

    click() {
      (this.hasAttribute("href") ? this.link : this.button).click();
    }
  }

  // <s-link href>: an <a> that navigates.
  class Link extends Component {
    static observedAttributes = ["href", "target", ACCESSIBILITY_LABEL];
    static delegatesFocus = true;
    static css = ":host{display:inline}a{color:#005bd3;text-decoration:underline}";

    render(root) {
      this.anchor = el("a", { part: "link" }, el("slot"));
      root.append(this.anchor);
    }

    update() {
      toggleAttr(this.anchor, "href", this.hasAttribute("href"), this.getAttribute("href"));
      toggleAttr(this.anchor, "target", this.hasAttribute("target"), this.getAttribute("target"));
      toggleAttr(this.anchor, "aria-label", this.hasAttribute(ACCESSIBILITY_LABEL), this.getAttribute(ACCESSIBILITY_LABEL));
    }

    click() {
      this.anchor.click();
    }
  }

  // --- form fields -------------------------------------------------------------------------

  // What every field shares: a visible <label> (`label`), help text (`details`), an error
  // (`error`: shown, aria-invalid, described by), `disabled`/`required`, a `value` property on
  // the host that mirrors the inner control both ways, `input`/`change` events on the host, and
  // the host's part in its <form> (form-associated, so FormData sees `name`).
  class Field extends Component {
    static formAssociated = true;
    static delegatesFocus = true;
    static upgradedProperties = ["value", "checked"];
    static shared = ["label", "labelaccessibilityvisibility", "details", "error", "disabled", "required", "name", "value"];
    static css =
      ".field{display:grid;gap:.25rem;margin-block-end:.75rem}label{font-weight:550}" +
      "input:not([type=checkbox]),textarea,select{font:inherit;padding:.375rem .5rem;border:1px solid #8a8a8a;border-radius:.5rem;background:#fff;color:#1a1a1a}" +
      ".details{color:#4a4a4a;margin:0}.error{color:#8e1f0b;margin:0}[aria-invalid=true]{border-color:#8e1f0b}" +
      ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";

    constructor() {
      super();
      this.internals = this.attachInternals();
    }

    // The inner control; subclasses build it in createControl().
    render(root) {
      this.control = this.createControl();
      this.control.id = nextId("control");
      this.labelElement = el("label", { for: this.control.id });
      this.details = el("p", { class: "details", id: nextId("details") });
      this.errorText = el("p", { class: "error", id: nextId("error") });
      this.control.addEventListener("input", (event) => this.forward(event));
      this.control.addEventListener("change", (event) => this.forward(event));
      root.append(this.layout());
      const initial = this.pending !== undefined ? this.pending : this.getAttribute("value");
      this.pending = undefined;
      if (initial !== null) this.writeValue(initial);
    }

    // `value` set as an attribute after render changes the value, as the property does.
    attributeChangedCallback(name, previous, value) {
      if (name === "value" && this.control && value !== null) this.writeValue(value);
      super.attributeChangedCallback(name, previous, value);
    }

    layout() {
      return el("div", { class: "field" }, this.labelElement, this.control, this.details, this.errorText);
    }

    update() {
      this.labelElement.textContent = this.getAttribute("label") || "";
      this.labelElement.className = this.getAttribute("labelaccessibilityvisibility") === "exclusive" ? "visually-hidden" : "";
      this.details.textContent = this.getAttribute("details") || "";
      this.details.hidden = !this.hasAttribute("details");
      const error = this.getAttribute("error");
      this.errorText.textContent = error || "";
      this.errorText.hidden = !error;
      toggleAttr(this.control, "aria-invalid", Boolean(error), "true");
      const describedBy = [this.details.hidden ? null : this.details.id, error ? this.errorText.id : null].filter(Boolean);
      toggleAttr(this.control, "aria-describedby", describedBy.length > 0, describedBy.join(" "));
      this.control.disabled = this.hasAttribute("disabled");
      this.control.required = this.hasAttribute("required");
      this.syncForm();
    }

    // The control's own events stop at the shadow root; the host fires its own.
    forward(event) {
      event.stopPropagation();
      this.syncForm();
      this.dispatchEvent(new Event(event.type, { bubbles: true, composed: true }));
    }

    get value() {
      return this.control ? this.readValue() : (this.pending ?? this.getAttribute("value") ?? "");
    }

    set value(value) {
      if (!this.control) this.pending = value;
      else {
        this.writeValue(value);
        this.syncForm();
      }
    }

    readValue() {
      return this.control.value;
    }

    writeValue(value) {
      this.control.value = value ?? "";
    }

    syncForm() {
      if (this.control) this.internals.setFormValue(this.control.disabled ? null : this.readValue());
    }

    formResetCallback() {
      this.value = this.getAttribute("value") || "";
    }
  }

  // <s-text-field>, <s-email-field>, <s-number-field>, <s-date-field>, <s-search-field>: one <input>.
  // Enter in it submits the closest form, as it would in a native form.
  function inputField(type) {
    return class extends Field {
      static observedAttributes = [...Field.shared, "placeholder", "min", "max", "step", "minlength", "maxlength", "autocomplete", "readonly"];

      createControl() {
        const input = el("input", { type });
        input.addEventListener("keydown", (event) => {
          if (event.key === "Enter" && this.closest("form")) {
            event.preventDefault();
            this.closest("form").requestSubmit();
          }
        });
        return input;
      }

      update() {
        for (const name of ["placeholder", "min", "max", "step", "minlength", "maxlength", "autocomplete"]) {
          toggleAttr(this.control, name, this.hasAttribute(name), this.getAttribute(name));
        }
        this.control.readOnly = this.hasAttribute("readonly");
        super.update();
      }
    };
  }

  // <s-text-area rows>: a <textarea>.
  class TextArea extends Field {
    static observedAttributes = [...Field.shared, "placeholder", "rows", "minlength", "maxlength", "readonly"];

    createControl() {
      return el("textarea");
    }

    update() {
      for (const name of ["placeholder", "rows", "minlength", "maxlength"]) {
        toggleAttr(this.control, name, this.hasAttribute(name), this.getAttribute(name));
      }
      this.control.readOnly = this.hasAttribute("readonly");
      super.update();
    }
  }

  // <s-select> with <s-option value>children</s-option>: a <select> whose options are rebuilt
  // from the children whenever they change; the chosen value survives a rebuild when it can.
  class Select extends Field {
    static observedAttributes = [...Field.shared, "placeholder"];

    createControl() {
      const select = el("select");
      new MutationObserver(() => this.rebuild()).observe(this, {
        childList: true,
        subtree: true,
        characterData: true,
        attributes: true,
        attributeFilter: ["value", "selected", "disabled", "placeholder"],
      });
      return select;
    }

    render(root) {
      super.render(root);
      this.rebuild();
    }

    rebuild() {
      const current = this.pending ?? (this.control.options.length ? this.control.value : this.getAttribute("value"));
      const options = [...this.querySelectorAll("s-option")].map((option) => {
        const native = el("option", { value: option.getAttribute("value") ?? option.textContent.trim() }, option.textContent.trim());
        native.disabled = option.hasAttribute("disabled");
        native.defaultSelected = option.hasAttribute("selected");
        return native;
      });
      if (this.hasAttribute("placeholder")) {
        const placeholder = el("option", { value: "" }, this.getAttribute("placeholder"));
        placeholder.disabled = true;
        options.unshift(placeholder);
      }
      this.control.replaceChildren(...options);
      if (current !== null && current !== undefined && options.some((option) => option.value === current)) {
        this.control.value = current;
        this.pending = undefined;
      } else if (this.hasAttribute("placeholder") && !options.some((option) => option.defaultSelected)) {
        this.control.value = "";
      }
      this.syncForm();
    }

    // A value without its option yet (the start tag is parsed before its children; options
    // may come from the API later) waits in `pending` until rebuild() finds it.
    readValue() {
      return this.pending !== undefined && !this.control.options.length ? this.pending : this.control.value;
    }

    writeValue(value) {
      this.pending = value ?? "";
      this.rebuild();
    }

    forward(event) {
      this.pending = undefined; // the merchant chose
      super.forward(event);
    }
  }

  // <s-checkbox> and <s-switch> (role=switch): a labelled checkbox with a `checked` property;
  // `value` is what the form sends when checked ("on" by default).
  function checkField(role) {
    return class extends Field {
      static observedAttributes = [...Field.shared, "value"];
      static css = Field.css + ".check{display:flex;gap:.5rem;align-items:center}.field{gap:.125rem}";

      createControl() {
        const input = el("input", { type: "checkbox" });
        if (role) input.setAttribute("role", role);
        return input;
      }

      render(root) {
        super.render(root);
        this.control.checked = this.pendingChecked ?? this.hasAttribute("checked");
      }

      layout() {
        return el("div", { class: "field" }, el("div", { class: "check" }, this.control, this.labelElement), this.details, this.errorText);
      }

      get checked() {
        return this.control ? this.control.checked : (this.pendingChecked ?? this.hasAttribute("checked"));
      }

      set checked(value) {
        if (!this.control) this.pendingChecked = Boolean(value);
        else {
          this.control.checked = Boolean(value);
          this.syncForm();
        }
      }

      get value() {
        return this.getAttribute("value") ?? "on";
      }

      set value(value) {
        this.setAttribute("value", value);
      }

      syncForm() {
        if (this.control) this.internals.setFormValue(this.control.checked && !this.control.disabled ? this.value : null);
      }

      formResetCallback() {
        this.checked = this.hasAttribute("checked");
      }
    };
  }

  // <s-drop-zone label accept multiple>: an <input type=file>; `files` is the chosen files as an
  // array (Polaris' property), `value` the first one's name; `change`/`input` on the host.
  class DropZone extends Field {
    static observedAttributes = [...Field.shared, "accept", "multiple"];

    createControl() {
      return el("input", { type: "file" });
    }

    update() {
      toggleAttr(this.control, "accept", this.hasAttribute("accept"), this.getAttribute("accept"));
      this.control.multiple = this.hasAttribute("multiple");
      super.update();
    }

    get files() {
      return this.control ? [...this.control.files] : [];
    }

    readValue() {
      return this.control.files.length ? this.control.files[0].name : "";
    }

    writeValue(value) {
      if (!value) this.control.value = ""; // a file input can only be cleared
    }

    syncForm() {
      if (!this.control) return;
      const data = new FormData();
      if (!this.control.disabled) for (const file of this.control.files) data.append(this.getAttribute("name") || "file", file);
      this.internals.setFormValue(data);
    }

    formResetCallback() {
      this.writeValue("");
      this.syncForm();
    }
  }

  // --- layout and text ---------------------------------------------------------------------
  //
  // Containers carry their role on the host (main, region, alert/status, dialog, heading,
  // paragraph): their content is the author's light DOM, slotted, and a Playwright locator
  // scoped to an element searches that element's descendants and its own shadow root, never
  // the nodes slotted into an element inside it. So `get_by_role("dialog").get_by_role("button")`
  // and `expect(get_by_role("alert")).to_contain_text(...)` work.

  // Role attributes a component sets on its own host.
  function roles(host, attributes) {
    for (const [name, value] of Object.entries(attributes)) toggleAttr(host, name, value !== null, value);
  }

  // <s-page heading>: the page's main landmark: its <h1>, its actions (slots
  // `primary-action`, `secondary-actions`), its content.
  class Page extends Component {
    static observedAttributes = ["heading"];
    static css =
      ":host{display:block;max-width:62rem;margin:0 auto;padding:1rem}header{display:flex;justify-content:space-between;align-items:center;gap:1rem}" +
      "h1{font-size:1.25rem;margin:.5rem 0 1rem}.actions{display:flex;gap:.5rem}";

    render(root) {
      this.heading = el("h1");
      const actions = el("div", { class: "actions" }, el("slot", { name: "secondary-actions" }), el("slot", { name: "primary-action" }));
      root.append(el("header", {}, this.heading, actions), el("slot"));
    }

    update() {
      roles(this, { role: "main" });
      this.heading.textContent = this.getAttribute("heading") || "";
      this.heading.hidden = !this.hasAttribute("heading");
    }
  }

  // <s-section heading>: a region named by its heading (h2, deeper when nested).
  class Section extends Component {
    static observedAttributes = ["heading", ACCESSIBILITY_LABEL];
    static css =
      ":host{display:block;margin-block-end:1rem;border:1px solid #e3e3e3;border-radius:.75rem;padding:1rem;background:#fff}" +
      "h2,h3,h4,h5,h6{font-size:1rem;margin:0 0 .75rem}";

    render(root) {
      this.heading = el(`h${headingLevel(this)}`);
      root.append(this.heading, el("slot"));
    }

    update() {
      const heading = this.getAttribute("heading");
      const name = this.getAttribute(ACCESSIBILITY_LABEL) || heading;
      this.heading.textContent = heading || "";
      this.heading.hidden = !heading;
      roles(this, { role: name ? "region" : null, "aria-label": name || null });
    }
  }

  // <s-heading>: a heading one level below the section it is in.
  class Heading extends HTMLElement {
    connectedCallback() {
      roles(this, { role: "heading", "aria-level": String(headingLevel(this)) });
    }
  }

  class Paragraph extends HTMLElement {
    connectedCallback() {
      roles(this, { role: "paragraph" });
    }
  }

  // <s-text>, <s-badge>, <s-stack>, <s-box>, <s-grid>, <s-option>: styled hosts, no markup
  // of their own. A tag needs a class of its own: one constructor cannot be defined twice.
  const plain = () => class extends HTMLElement {};

  class Spinner extends HTMLElement {
    static observedAttributes = [ACCESSIBILITY_LABEL];

    connectedCallback() {
      this.attributeChangedCallback();
    }

    attributeChangedCallback() {
      roles(this, { role: "progressbar", "aria-label": this.getAttribute(ACCESSIBILITY_LABEL) || "Loading" });
    }
  }

  class Divider extends Component {
    static css = ":host{display:block}hr{border:0;border-top:1px solid #e3e3e3;margin:.75rem 0}";

    render(root) {
      root.append(el("hr"));
    }
  }

  // <s-banner tone heading>: role=alert when critical (announced at once), else role=status.
  // `dismissible` adds a close button that hides it and fires `dismiss`.
  class Banner extends Component {
    static observedAttributes = ["tone", "heading", "dismissible"];
    static css =
      ":host{display:block;margin-block-end:1rem;border-radius:.75rem;padding:.75rem 1rem;background:#eaf4ff;border:1px solid #91d0ff}" +
      ":host([tone=critical]){background:#fee9e8;border-color:#fd8a84}:host([tone=warning]){background:#fff1e3;border-color:#ffb800}" +
      ":host([tone=success]){background:#cdfee1;border-color:#29845a}" +
      "h2{font-size:1rem;margin:0 0 .25rem}button{float:right;font:inherit;background:none;border:0;cursor:pointer}";

    render(root) {
      this.heading = el("h2");
      this.close = el("button", { type: "button", "aria-label": "Dismiss" }, "×");
      this.close.addEventListener("click", () => {
        this.hidden = true;
        this.dispatchEvent(new Event("dismiss", { bubbles: true, composed: true }));
      });
      root.append(this.close, this.heading, el("slot"));
    }

    update() {
      roles(this, { role: this.getAttribute("tone") === "critical" ? "alert" : "status" });
      this.heading.textContent = this.getAttribute("heading") || "";
      this.heading.hidden = !this.hasAttribute("heading");
      this.close.hidden = !this.hasAttribute("dismissible");
    }
  }

  // <s-modal id heading>: a modal dialog (role on the host, see above) with showOverlay(),
  // hideOverlay(), toggleOverlay(); footer slots `primary-action` and `secondary-actions`;
  // Escape and the close button hide it; focus moves in on show and back on hide; `show` and
  // `hide` fire on the host. Unlike a <dialog>, the page behind stays reachable.
  class Modal extends Component {
    static observedAttributes = ["heading", ACCESSIBILITY_LABEL];
    static css =
      ":host{display:none}:host(:state(open)){display:block;position:fixed;inset:0;z-index:100;overflow:auto;background:rgb(0 0 0 / 50%)}" +
      ".panel{background:#fff;border-radius:.75rem;margin:10vh auto;min-width:20rem;max-width:40rem}header,footer,.body{padding:1rem}" +
      "header{display:flex;justify-content:space-between;border-bottom:1px solid #e3e3e3}h2{font-size:1rem;margin:0}" +
      "footer{display:flex;justify-content:flex-end;gap:.5rem;border-top:1px solid #e3e3e3}header button{font:inherit;background:none;border:0;cursor:pointer}";

    constructor() {
      super();
      this.internals = this.attachInternals();
    }

    render(root) {
      this.heading = el("h2");
      this.close = el("button", { type: "button", "aria-label": "Close" }, "×");
      this.close.addEventListener("click", () => this.hideOverlay());
      this.addEventListener("keydown", (event) => {
        if (event.key === "Escape") this.hideOverlay();
      });
      root.append(
        el(
          "div",
          { class: "panel" },
          el("header", {}, this.heading, this.close),
          el("div", { class: "body" }, el("slot")),
          el("footer", {}, el("slot", { name: "secondary-actions" }), el("slot", { name: "primary-action" })),
        ),
      );
    }

    update() {
      const name = this.getAttribute(ACCESSIBILITY_LABEL) || this.getAttribute("heading");
      roles(this, { role: "dialog", "aria-modal": "true", "aria-label": name || null });
      this.heading.textContent = this.getAttribute("heading") || "";
    }

    get open() {
      return this.internals.states.has("open");
    }

    showOverlay() {
      if (this.open) return;
      this.returnFocus = document.activeElement;
      this.internals.states.add("open");
      this.close.focus();
      this.dispatchEvent(new Event("show", { bubbles: true }));
    }

    hideOverlay() {
      if (!this.open) return;
      this.internals.states.delete("open");
      if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
      this.dispatchEvent(new Event("hide", { bubbles: true }));
    }

    toggleOverlay() {
      if (this.open) this.hideOverlay();
      else this.showOverlay();
    }
  }

  // --- tables ------------------------------------------------------------------------------

  // The table family keeps its light DOM and takes ARIA table roles with table display.
  function tablePart(role) {
    return class extends HTMLElement {
      connectedCallback() {
        if (!this.hasAttribute("role")) this.setAttribute("role", role);
      }
    };
  }

  const COMPONENTS = {
    "s-button": Button,
    "s-link": Link,
    "s-text-field": inputField("text"),
    "s-email-field": inputField("email"),
    "s-number-field": inputField("number"),
    "s-date-field": inputField("date"),
    "s-search-field": inputField("search"),
    "s-text-area": TextArea,
    "s-select": Select,
    "s-option": plain(),
    "s-checkbox": checkField(null),
    "s-switch": checkField("switch"),
    "s-drop-zone": DropZone,
    "s-page": Page,
    "s-section": Section,
    "s-heading": Heading,
    "s-paragraph": Paragraph,
    "s-text": plain(),
    "s-badge": plain(),
    "s-stack": plain(),
    "s-box": plain(),
    "s-grid": plain(),
    "s-divider": Divider,
    "s-spinner": Spinner,
    "s-banner": Banner,
    "s-modal": Modal,
    "s-table": tablePart("table"),
    "s-table-header-row": tablePart("row"),
    "s-table-header": tablePart("columnheader"),
    "s-table-body": tablePart("rowgroup"),
    "s-table-row": tablePart("row"),
    "s-table-cell": tablePart("cell"),
  };

  // Styles of the hosts without a shadow root (and the display of those with one).
  const PAGE_CSS = `
    s-heading { display: block; font-weight: 650; margin: 0 0 .5rem; }
    s-paragraph { display: block; margin: 0 0 .5rem; }
    s-paragraph[tone="subdued"], s-paragraph[color="subdued"] { color: #4a4a4a; }
    s-paragraph[tone="critical"] { color: #8e1f0b; }
    s-text { display: inline; }
    s-text[tone="critical"] { color: #8e1f0b; }
    s-text[tone="subdued"], s-text[color="subdued"] { color: #4a4a4a; }
    s-text[type="strong"] { font-weight: 650; }
    s-badge { display: inline-block; padding: 0 .5rem; border-radius: .5rem; background: #e3e3e3; color: #1a1a1a; font-size: 12px; }
    s-badge[tone="success"] { background: #cdfee1; color: #0c5132; }
    s-badge[tone="info"] { background: #eaf4ff; color: #00527c; }
    s-badge[tone="attention"], s-badge[tone="warning"] { background: #ffef9d; color: #4f4700; }
    s-badge[tone="critical"] { background: #fee9e8; color: #8e1f0b; }
    s-stack { display: flex; flex-direction: column; gap: .5rem; }
    s-stack[direction="inline"] { flex-direction: row; flex-wrap: wrap; align-items: center; }
    s-box { display: block; padding: .5rem; }
    s-grid { display: grid; gap: .5rem; }
    s-spinner { display: inline-block; width: 1rem; height: 1rem; border: 2px solid #8a8a8a; border-top-color: transparent; border-radius: 50%; }
    s-table { display: table; width: 100%; border-collapse: collapse; }
    s-table-header-row, s-table-row { display: table-row; }
    s-table-body { display: table-row-group; }
    s-table-header, s-table-cell { display: table-cell; padding: .5rem; border-bottom: 1px solid #e3e3e3; text-align: start; }
    s-table-header { font-weight: 650; }
    s-option { display: none; }
    s-button, s-link, s-checkbox, s-switch { display: inline-block; }
    s-text-field, s-email-field, s-number-field, s-date-field, s-search-field, s-text-area, s-select, s-drop-zone { display: block; }
  `;

  // A host's own display rule would otherwise beat the hidden attribute.
  const HIDDEN_CSS = `${Object.keys(COMPONENTS).map((tag) => `${tag}[hidden]`).join(", ")} { display: none !important; }`;
  document.head.append(style(PAGE_CSS + HIDDEN_CSS));
  for (const [tag, component] of Object.entries(COMPONENTS)) {
    if (!customElements.get(tag)) customElements.define(tag, component);
  }
})();
