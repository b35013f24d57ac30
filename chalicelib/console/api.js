// The console's only way to the server: the public REST API (/v1), with the key from sessionStorage.
// Paths are relative ("v1/events"): they resolve against the page's <base>, so any stage prefix works.

const STORE = "onair.apiKey";

export const key = {
  get: () => sessionStorage.getItem(STORE),
  set: (value) => sessionStorage.setItem(STORE, value),
  clear: () => sessionStorage.removeItem(STORE),
};

/** A non-2xx answer: `status` and the RFC 9457 problem body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }

  /** Field errors by JSON Pointer ("/title" → "must not be empty"). */
  fields() {
    return Object.fromEntries((this.problem.errors || []).map((e) => [e.pointer, e.detail]));
  }
}

function url(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, value);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** One request; resolves to {data, etag}; rejects with ApiError. A 401 also signs the tab out. */
export async function request(method, path, { body, query, etag, contentType } = {}) {
  const headers = { Authorization: `Bearer ${key.get() || ""}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  if (etag) headers["If-Match"] = etag;
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { title: "Network error", detail: "The server cannot be reached. Is it running?" });
  }
  const text = await response.text();
  const isJson = /json/.test(response.headers.get("Content-Type") || "");
  const data = text && isJson ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new ApiError(response.status, data || { title: response.statusText });
    if (response.status === 401) dispatchEvent(new CustomEvent("onair:unauthorised", { detail: error }));
    throw error;
  }
  return { data, etag: response.headers.get("ETag") };
}

export const get = (path, query) => request("GET", path, { query });

/** Every item of a list, following next_cursor (each page is one DynamoDB Query on the server). */
export async function all(path, query = {}) {
  const items = [];
  let cursor;
  do {
    const { data } = await get(path, { ...query, limit: 500, cursor });
    items.push(...data.items);
    cursor = data.next_cursor;
  } while (cursor);
  return items;
}

/** `occurrence_start` as a path segment (percent-encoded, ":" as %3A). */
export const segment = (value) => encodeURIComponent(value);
