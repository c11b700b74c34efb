/* The JSON API client: every HTTP call of the page goes through api(). */
import { t } from "./strings.js";

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
    throw new ApiError(t("api.network"), 0, "network");
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
      : t("api.server", { status: res.status });
    throw new ApiError(message, res.status, err && err.code);
  }
  if (data === null) throw new ApiError(t("api.unreadable"), res.status, "bad_response");
  return data;
}
