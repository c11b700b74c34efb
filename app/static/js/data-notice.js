/* The data-use notice (DATA_NOTICE): shown to a browser until it is dismissed, and again
 * when its text changes. */
import { els } from "./dom.js";
import { settings, store } from "./settings.js";

const SEEN = "duet.dataNoticeSeen";

/** Show the notice unless this browser dismissed this very text before. */
export function bindDataNotice() {
  if (!els.dataNotice) return;
  els.dataNotice.hidden = !settings.dataNotice || store.get(SEEN) === settings.dataNotice;
  els.dataNoticeDismiss.addEventListener("click", () => {
    store.set(SEEN, settings.dataNotice);
    els.dataNotice.hidden = true;
    els.input.focus();
  });
}
