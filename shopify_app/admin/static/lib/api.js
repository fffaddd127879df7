// The one way a screen talks to the app: fetch() on /api, which App Bridge wraps to add the
// session token (Authorization: Bearer). Errors arrive in the app's JSON shape and are thrown
// as ApiError, whose message is the server's, written for the merchant.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The request failed (${status}).`);
    this.name = "ApiError";
    this.status = status;
    this.code = error.code || "request_failed";
    this.details = error.details || {};
  }

  // Field name -> [messages] for a 422 (marshmallow's shape, nested under details.fields).
  get fields() {
    return this.details.fields || {};
  }
}

async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

function apiUrl(path, query) {
  let url = `/api${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  return url;
}

// fetch() that turns "no answer" into an ApiError the screens can show, and an answer that is
// not OK into an ApiError from the app's error shape.
async function send(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { error: { code: "network_error", message: "The app could not be reached. Check your connection and try again." } });
  }
  if (!response.ok) {
    const data = await parse(response).catch(() => null);
    throw new ApiError(response.status, typeof data === "object" ? data : null);
  }
  return response;
}

export async function api(path, { method = "GET", body, query, signal, headers = {} } = {}) {
  const init = { method, signal, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return parse(await send(apiUrl(path, query), init));
}

// Every page of a cursor-paginated list, for small lists (segments, templates).
export async function all(path, query = {}) {
  const items = [];
  let cursor;
  do {
    const page = await api(path, { query: { ...query, cursor } });
    items.push(...(page.items || page.data || []));
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// A multipart upload (a CSV import): the browser sets the multipart Content-Type and boundary.
export async function upload(path, formData, { signal } = {}) {
  return parse(await send(apiUrl(path), { method: "POST", body: formData, signal, headers: { Accept: "application/json" } }));
}

// A file the API answers, as a Blob (an image to show through an object URL).
export async function blob(path, { query } = {}) {
  return (await send(apiUrl(path, query), {})).blob();
}

// A file the API answers (an export's CSV, a report as CSV), fetched with the session token like
// every call (a plain link could not carry it) and saved through an object URL, under the
// name the answer's Content-Disposition gives, else `filename`.
export async function download(path, { query, filename = "download" } = {}) {
  const response = await send(apiUrl(path, query), { headers: { Accept: "text/csv, application/json" } });
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || filename;
  const objectUrl = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = objectUrl;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(objectUrl), 10000);
  return name;
}
