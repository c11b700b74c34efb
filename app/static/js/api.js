/* The JSON API client: every HTTP call of the page goes through api(). */

/** An API call that failed; its message is fit to show to the user. */
export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Escape one path segment of an API URL. */
export const enc = encodeURIComponent;

/** Call the JSON API; throws ApiError whose message is fit to show to the user. */
export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError("Could not reach the server. Check your connection and try again.", 0, "network");
  }
  let data;
  try {
    const text = await res.text();
    data = text ? JSON.parse(text) : {};
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && data.error;
    const message = err && typeof err.message === "string" && err.message
      ? err.message
      : `Something went wrong on the server (HTTP ${res.status}). Please try again.`;
    throw new ApiError(message, res.status, err && err.code);
  }
  if (data === null) throw new ApiError("The server sent an answer that could not be read.", res.status, "bad_response");
  return data;
}
