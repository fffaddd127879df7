/* SMS Blossom storefront blocks: progressive enhancement only. Without this file every form is a
   plain POST to the app proxy and Shopify shows the app's answer page; with it a form is sent with
   fetch and the answer shown in place, the popup opens (after its delay, or on exit intent on
   desktop, once per visitor) and the back-in-stock block follows the theme's variant picker. */
(function () {
  "use strict";

  var SEEN_KEY = "sms-blossom:popup-seen";
  var FOCUSABLE =
    'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), ' +
    'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function doneMessage(done, action, body) {
    var status = body && body.status;
    if (action === "back-in-stock") {
      return body && body.subscription === "subscribed" ? done.dataset.waiting : done.dataset.waitingConfirm;
    }
    return status === "subscribed" ? done.dataset.subscribed : done.dataset.pending;
  }

  function enhanceForm(form) {
    var done = form.parentNode.querySelector("[data-sms-blossom-done]");
    var error = form.querySelector("[data-sms-blossom-error]");
    var button = form.querySelector('[type="submit"]');
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData || !window.URLSearchParams) return; // the plain POST
      event.preventDefault();
      button.disabled = true;
      error.hidden = true;
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().then(
            function (body) { return { ok: response.ok, body: body }; },
            function () { return { ok: false, body: {} }; }
          );
        })
        .then(function (result) {
          if (result.ok) {
            form.hidden = true;
            done.textContent = doneMessage(done, form.dataset.action, result.body);
            done.hidden = false;
            done.focus();
          } else {
            var message = result.body && result.body.error && result.body.error.message;
            error.textContent = message || done.dataset.error;
            error.hidden = false;
          }
        })
        .catch(function () {
          error.textContent = done.dataset.error;
          error.hidden = false;
        })
        .then(function () { button.disabled = false; });
    });
  }

  function remember() {
    try { window.localStorage.setItem(SEEN_KEY, "1"); } catch (e) { /* private mode: shown this visit only */ }
  }

  function seen() {
    try { return window.localStorage.getItem(SEEN_KEY) === "1"; } catch (e) { return false; }
  }

  function setUpPopup(popup) {
    var dialog = popup.querySelector('[role="dialog"]');
    var returnTo = null;
    var shown = false;

    function focusables() {
      return Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (node) {
        return node.offsetParent !== null || node === document.activeElement;
      });
    }

    function onKey(event) {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
        return;
      }
      if (event.key !== "Tab") return;
      var items = focusables();
      if (!items.length) return;
      var first = items[0];
      var last = items[items.length - 1];
      var inside = dialog.contains(document.activeElement);
      if (event.shiftKey && (!inside || document.activeElement === first)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (!inside || document.activeElement === last)) {
        event.preventDefault();
        first.focus();
      }
    }

    function keepFocusInside(event) {
      if (!dialog.contains(event.target)) {
        var items = focusables();
        if (items.length) items[0].focus();
      }
    }

    function open() {
      if (shown || seen()) return;
      shown = true;
      remember(); // once per visitor, whatever they do next
      returnTo = document.activeElement;
      popup.hidden = false;
      document.addEventListener("keydown", onKey, true);
      document.addEventListener("focusin", keepFocusInside, true);
      var field = dialog.querySelector('input:not([type="hidden"]), select') || focusables()[0];
      if (field) field.focus();
    }

    function close() {
      popup.hidden = true;
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("focusin", keepFocusInside, true);
      if (returnTo && typeof returnTo.focus === "function") returnTo.focus();
    }

    Array.prototype.forEach.call(popup.querySelectorAll("[data-sms-blossom-close]"), function (node) {
      node.addEventListener("click", close);
    });
    if (seen()) return;
    var delay = Math.max(0, parseFloat(popup.dataset.delay) || 0);
    window.setTimeout(open, delay * 1000);
    var desktop = window.matchMedia && window.matchMedia("(hover: hover) and (pointer: fine)").matches;
    if (popup.dataset.exitIntent === "true" && desktop) {
      document.addEventListener("mouseout", function (event) {
        if (!event.relatedTarget && event.clientY <= 0) open();
      });
    }
  }

  function setUpStock(block) {
    var variants = {};
    var source = block.querySelector("[data-sms-blossom-variants]");
    try { variants = JSON.parse(source.textContent); } catch (e) { return; }
    var field = block.querySelector("[data-sms-blossom-variant]");
    document.addEventListener("change", function (event) {
      var target = event.target;
      if (!target || target.name !== "id" || !target.form || !/\/cart\/add/.test(target.form.action)) return;
      if (!(target.value in variants)) return;
      field.value = target.value;
      block.hidden = variants[target.value] === true;
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-sms-blossom-form]"), enhanceForm);
    Array.prototype.forEach.call(document.querySelectorAll("[data-sms-blossom-popup]"), setUpPopup);
    Array.prototype.forEach.call(document.querySelectorAll("[data-sms-blossom-stock]"), setUpStock);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
