// SMS Blossom browse pixel: reports product views of identified shoppers to the app.
//
// Identified means one of two things the app can check, and nothing personal:
// - the logged-in customer's id (init.data.customer.id), which the app matches to a contact;
// - the browse token (`sb_t`) our texted short links add to storefront URLs, kept here in the
//   browser's localStorage so later pages (where the URL no longer has it) are still known.
// No email, phone or name is ever read or sent (a pixel sees none without protected customer
// data approval anyway). Without an identity nothing is sent at all. The URL is reported as its
// path only: a query string can carry anything, our own token included.
import {register} from '@shopify/web-pixels-extension';

export const TOKEN_PARAM = 'sb_t';
export const TOKEN_KEY = 'sms_blossom_browse_token';
const MAX_TOKEN_LENGTH = 512;

function urlOf(event) {
  try {
    return new URL(event.context.document.location.href);
  } catch (error) {
    return null;
  }
}

// The token in the page's URL, if any, kept for the pages that follow.
async function rememberToken(browser, event) {
  const url = urlOf(event);
  const token = url && url.searchParams.get(TOKEN_PARAM);
  if (token && token.length <= MAX_TOKEN_LENGTH) {
    await browser.localStorage.setItem(TOKEN_KEY, token);
    return token;
  }
  return null;
}

async function storedToken(browser) {
  const token = await browser.localStorage.getItem(TOKEN_KEY);
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}

function customerIdOf(init) {
  const customer = init && init.data && init.data.customer;
  return customer && customer.id ? String(customer.id) : null;
}

export function viewReport(event, {shopDomain, customerId, token}) {
  const variant = (event.data && event.data.productVariant) || {};
  const product = variant.product || {};
  const url = urlOf(event);
  const report = {
    event_id: String(event.id),
    occurred_at: event.timestamp,
    shop: shopDomain,
    product_id: String(product.id),
    variant_id: variant.id ? String(variant.id) : null,
    product_title: String(product.title || variant.title || '').slice(0, 255),
    url_path: url ? url.pathname : String(product.url || '/').split(/[?#]/)[0],
  };
  if (customerId) report.customer_id = customerId;
  if (token) report.token = token;
  return report;
}

register(({analytics, browser, init, settings}) => {
  const endpoint = settings.endpoint;
  const shopDomain = settings.shopDomain;
  const customerId = customerIdOf(init);

  // Any page may be the one a texted link landed on: keep its token.
  analytics.subscribe('all_events', (event) => rememberToken(browser, event).catch(() => null));

  analytics.subscribe('product_viewed', async (event) => {
    const product = event.data && event.data.productVariant && event.data.productVariant.product;
    if (!endpoint || !shopDomain || !product || !product.id) return;
    // The landing page may be this product page: its own URL's token first, then the stored one.
    const token = (await rememberToken(browser, event).catch(() => null)) || (await storedToken(browser).catch(() => null));
    if (!customerId && !token) return;
    try {
      await fetch(endpoint, {
        method: 'POST',
        // text/plain keeps this a CORS "simple" request: no preflight, which keepalive favours.
        headers: {'Content-Type': 'text/plain;charset=UTF-8'},
        body: JSON.stringify(viewReport(event, {shopDomain, customerId, token})),
        keepalive: true,
        credentials: 'omit',
      });
    } catch (error) {
      // A lost report is a lost nudge, never a broken storefront.
    }
  });
});
