/* The deployment's settings the page needs, rendered by app/web/pages.py into
 * <html data-settings> (data in an attribute, like the vocabulary: no inline script).
 */
const raw = JSON.parse(document.documentElement.dataset.settings || "{}");

/** {data_notice, reason_tags, feedback_edit_seconds, auth_mode, rater: {name, role} | null} */
export const settings = Object.freeze({
  dataNotice: raw.data_notice || "",
  reasonTags: Object.freeze([...(raw.reason_tags || [])]),
  feedbackEditSeconds: Number(raw.feedback_edit_seconds) || 0,
  authMode: raw.auth_mode || "anonymous",
  rater: raw.rater || null,
});

/** Whether a vote cast at `createdAt` (ISO) may still have its reason and tags changed. */
export function explainable(createdAt) {
  if (!createdAt) return true;
  const cast = Date.parse(createdAt);
  if (Number.isNaN(cast)) return true;
  return Date.now() - cast < settings.feedbackEditSeconds * 1000;
}

/** localStorage, or nothing when the browser refuses it (private modes, storage off). */
export const store = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch { /* remembering is a convenience */ }
  },
};
