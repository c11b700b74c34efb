/* What the page tells the user outside the turns: the status line and the error banner. */
import { els } from "./dom.js";

/** Put text on the status line (a polite live region). */
export function announce(text) {
  els.status.textContent = text;
}

/** Show the error banner with a message. */
export function showError(message) {
  els.errorText.textContent = message;
  els.errorBanner.hidden = false;
}

/** Hide the error banner. */
export function hideError() {
  els.errorBanner.hidden = true;
  els.errorText.textContent = "";
}
