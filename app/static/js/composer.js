/* The message box and its buttons: enabled, hidden and focused as the page's work allows. */
import { els } from "./dom.js";
import { store } from "./settings.js";
import { anyTurnStreaming, state } from "./state.js";

const COMPARE = "duet.compare";

/** Set the Compare switch as this browser left it, and remember each change. */
export function bindCompareSwitch() {
  els.modePair.checked = store.get(COMPARE) === "1";
  els.modePair.addEventListener("change", () => store.set(COMPARE, els.modePair.checked ? "1" : "0"));
}

/** Enable, show and focus the composer's controls for what is in flight right now. */
export function updateComposer() {
  const streaming = anyTurnStreaming();
  const isBusy = streaming || state.sending;
  const focusWasInComposer = els.composer.contains(document.activeElement) || document.activeElement === document.body;
  els.input.disabled = isBusy;
  els.modePair.disabled = isBusy;
  els.send.disabled = state.sending;
  els.send.hidden = streaming;
  els.stop.hidden = !streaming || els.composer.hidden; // hidden: a campaign's shared turn
  els.stop.disabled = state.stopping;
  els.composer.classList.toggle("is-busy", isBusy);
  els.newConversation.disabled = state.sending;
  els.newWithPrompt.disabled = state.sending;
  for (const view of state.turns.values()) {
    if (view.rerollButton) view.rerollButton.disabled = isBusy;
  }
  if (streaming && focusWasInComposer) els.stop.focus({ preventScroll: true });
  else if (!isBusy && (document.activeElement === els.stop || document.activeElement === document.body)) {
    els.input.focus({ preventScroll: true });
  }
  if (!streaming) state.stopping = false;
}

/** Grow the message box with its text, up to 240 px. */
export function autosize() {
  els.input.style.height = "auto";
  els.input.style.height = `${Math.min(els.input.scrollHeight + 2, 240)}px`;
}
