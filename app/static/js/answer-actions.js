/* What the user does with one finished answer: copy it, rate it (thumbs up or down, with
 * optional tags and reason), and edit it to fix it (the conversation goes on with the edit).
 */
import { api, enc } from "./api.js";
import { renderMarkdown } from "./markdown.js";
import { announce, hideError, showError } from "./notices.js";
import { pressTags, pressedTags, renderSlotMeta, shownText } from "./pane-view.js";
import { t } from "./strings.js";

/** Learn the ids of a finished turn's responses (a new turn's start names only its slots),
 * so its answers can be rated and edited. */
export async function learnResponseIds(view, conversationId) {
  if ([...view.slots.values()].every((s) => s.id)) return;
  let conv;
  try {
    conv = await api("GET", `/api/conversations/${enc(conversationId)}`);
  } catch {
    return; // the answers stay without thumbs until the next load
  }
  const turn = (conv.turns || []).find((x) => x.id === view.id);
  for (const r of (turn && turn.responses) || []) {
    const slot = view.slots.get(r.slot);
    if (slot && !slot.id) {
      slot.id = r.id || null;
      renderSlotMeta(view, slot);
    }
  }
}

/** Put the answer as shown (the edit, if any) on the clipboard. */
export async function copyAnswer(view, slot) {
  const label = slot.copyButton.querySelector(".action-label");
  try {
    await navigator.clipboard.writeText(shownText(slot));
    label.textContent = t("copy.done");
    announce(t("copy.done"));
    setTimeout(() => {
      label.textContent = t("copy");
    }, 1500);
  } catch {
    showError(t("copy.failed"));
  }
}

/** A thumb was pressed: open the form (tags, reason) that sends the rating. */
export function openRating(view, slot, rating) {
  if (slot.rating) return;
  slot.rating_open = slot.rating_open === rating ? null : rating;
  if (slot.rating_open) pressTags(slot.rateChips, []);
  renderSlotMeta(view, slot);
  if (slot.rating_open) slot.rateSend.focus();
}

/** Close the rating form without sending. */
export function cancelRating(view, slot) {
  const back = slot.rating_open === "down" ? slot.downButton : slot.upButton;
  slot.rating_open = null;
  renderSlotMeta(view, slot);
  back.focus();
}

/** Send the rating with the tags and reason chosen in its form. */
export async function sendRating(view, slot) {
  const rating = slot.rating_open;
  if (!rating || slot.rating || !slot.id) return;
  const body = { rating };
  const tags = pressedTags(slot.rateChips);
  const reason = slot.rateReason.value.trim();
  if (tags.length) body.tags = tags;
  if (reason) body.reason = reason;
  slot.rateSend.disabled = true;
  hideError();
  try {
    const res = await api("POST", `/api/responses/${enc(slot.id)}/rating`, body);
    slot.rating = { rating: res.rating || rating, tags: res.tags || tags, reason: res.reason ?? (reason || null) };
    slot.rating_open = null;
    announce(t(rating === "up" ? "rate.thanksUp" : "rate.thanksDown"));
  } catch (e) {
    showError(e.message);
  } finally {
    slot.rateSend.disabled = false;
    renderSlotMeta(view, slot);
  }
}

/** Show the answer as an editable text. */
export function startEdit(view, slot) {
  slot.editing = true;
  slot.editInput.value = shownText(slot);
  renderSlotMeta(view, slot);
  slot.editInput.focus();
}

/** Leave the edit without saving. */
export function cancelEdit(view, slot) {
  slot.editing = false;
  renderSlotMeta(view, slot);
  slot.editButton.focus();
}

/** Save the corrected answer; later turns of the conversation continue with it. */
export async function saveEdit(view, slot) {
  const content = slot.editInput.value;
  if (!content.trim() || !slot.id) return;
  slot.editSave.disabled = true;
  hideError();
  try {
    const res = await api("POST", `/api/responses/${enc(slot.id)}/edit`, { content });
    slot.edited = typeof res.content === "string" ? res.content : content;
    slot.editing = false;
    renderMarkdown(slot.body, shownText(slot));
    announce(t("edit.saved"));
  } catch (e) {
    showError(e.message);
  } finally {
    slot.editSave.disabled = false;
    renderSlotMeta(view, slot);
  }
  if (!slot.editing) slot.editButton.focus();
}
