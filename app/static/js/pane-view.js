/* One answer pane: its status, text, the model once revealed, and what can be done with it
 * (copy, thumbs up or down, edit to fix, try again). Clicks are handled in answer-actions.js.
 */
import { h, icon, uid } from "./dom.js";
import { settings } from "./settings.js";
import { turnStreaming } from "./state.js";
import { t, tagLabel } from "./strings.js";
import { TERMINAL_STATUSES } from "./vocabulary.js";

/** The text a pane shows: the user's correction when there is one, else the model's. */
export const shownText = (slot) => (slot.edited !== null ? slot.edited : slot.text);

/** What names a slot's model once revealed: the endpoint's name, else the model's. */
export const modelLabel = (slot) => slot.endpoint || slot.model || t("result.unknown", { slot: slot.name.toUpperCase() });

/** Toggle buttons for REASON_TAGS (aria-pressed), in a labelled group. */
export function tagChips(label) {
  const legendId = uid("tags");
  const chips = settings.reasonTags.map((tag) => h("button", { type: "button", class: "tag-chip",
    "data-tag": tag, "aria-pressed": "false" }, tagLabel(tag)));
  const group = h("div", { class: "tag-field", role: "group", "aria-labelledby": legendId },
    h("span", { class: "field-label", id: legendId }, label), h("div", { class: "tag-chips" }, ...chips));
  return { group, chips };
}

/** The tags pressed in a chip group. */
export const pressedTags = (chips) => chips.filter((c) => c.getAttribute("aria-pressed") === "true").map((c) => c.dataset.tag);

/** Press exactly the chips of `tags`. */
export function pressTags(chips, tags) {
  const on = new Set(tags || []);
  for (const c of chips) c.setAttribute("aria-pressed", on.has(c.dataset.tag) ? "true" : "false");
}

function iconButton(cls, name, label, attrs) {
  return h("button", { type: "button", class: `button subtle pane-action ${cls}`, ...attrs },
    icon(name), h("span", { class: "action-label" }, label));
}

function buildRateForm(slot) {
  const reasonId = uid("rate-reason");
  const { group, chips } = tagChips(t("rate.tags"));
  slot.rateChips = chips;
  slot.rateReason = h("textarea", { id: reasonId, class: "rate-reason", rows: 2 });
  slot.rateSend = h("button", { type: "button", class: "button primary rate-send" }, t("rate.send"));
  slot.rateCancel = h("button", { type: "button", class: "button rate-cancel" }, t("rate.cancel"));
  slot.rateForm = h("div", { class: "rate-form", hidden: true }, group,
    h("label", { class: "field-label", for: reasonId }, t("rate.reason")), slot.rateReason,
    h("div", { class: "form-buttons" }, slot.rateSend, slot.rateCancel));
  return slot.rateForm;
}

function buildEditForm(slot) {
  const id = uid("edit");
  slot.editInput = h("textarea", { id, class: "edit-input", rows: 8 });
  slot.editSave = h("button", { type: "button", class: "button primary edit-save" }, t("edit.save"));
  slot.editCancel = h("button", { type: "button", class: "button edit-cancel" }, t("edit.cancel"));
  slot.editForm = h("div", { class: "edit-form", hidden: true },
    h("label", { class: "field-label", for: id }, t("edit.label")), slot.editInput,
    h("div", { class: "form-buttons" }, slot.editSave, slot.editCancel));
  return slot.editForm;
}

/** The DOM and state of one slot of a turn. */
export function buildSlot(view, name, response) {
  const r = response || { content: "", status: "streaming" };
  const labelId = uid("pane-label");
  const label = view.paired
    ? h("h3", { class: `pane-label slot-${name}`, id: labelId }, name.toUpperCase())
    : h("h3", { class: "pane-label assistant", id: labelId }, t("pane.answer"));
  const slot = {
    name,
    id: r.id || null,
    text: typeof r.content === "string" ? r.content : "",
    edited: r.edit && typeof r.edit.content === "string" ? r.edit.content : null,
    rating: r.rating || null,
    seq: 0,
    status: TERMINAL_STATUSES.has(r.status) ? r.status : "streaming",
    finishReason: r.finish_reason || null,
    error: r.error || null,
    endpoint: r.endpoint || null,
    model: r.model || null,
    stale: false, // text came from HTTP and will be replaced by the socket's replay
    rating_open: null, // "up" | "down" while the rating form is open
    editing: false,
  };
  slot.chip = h("span", { class: "chip" });
  slot.winnerBadge = h("span", { class: "winner-badge", hidden: true }, t("result.winner"));
  slot.editedBadge = h("span", { class: "edited-badge", hidden: true }, t("pane.edited"));
  slot.body = h("div", { class: "pane-body md" });
  slot.errorEl = h("p", { class: "pane-error", hidden: true });
  slot.retryButton = iconButton("retry", "retry", t("retry"), { hidden: true });
  slot.modelEl = h("p", { class: "model-name", hidden: true });
  slot.copyButton = iconButton("copy", "copy", t("copy"));
  slot.upButton = iconButton("thumb", "up", t("rate.up"), { "data-rating": "up", "aria-pressed": "false" });
  slot.downButton = iconButton("thumb", "down", t("rate.down"), { "data-rating": "down", "aria-pressed": "false" });
  slot.upButton.querySelector(".action-label").classList.add("visually-hidden");
  slot.downButton.querySelector(".action-label").classList.add("visually-hidden");
  slot.editButton = iconButton("edit", "edit", t("edit"));
  slot.ratedNote = h("span", { class: "rated-note", role: "status" });
  slot.actions = h("div", { class: "pane-actions", hidden: true },
    slot.copyButton, slot.upButton, slot.downButton, slot.editButton, slot.ratedNote);
  slot.pane = h("article", { class: `pane slot-${name}`, "data-slot": name, "aria-labelledby": labelId },
    h("header", { class: "pane-head" }, label, slot.winnerBadge, slot.editedBadge, slot.chip),
    slot.body, buildEditForm(slot), slot.errorEl, slot.retryButton, slot.modelEl, slot.actions, buildRateForm(slot));
  renderSlotMeta(view, slot);
  return slot;
}

/** Status attributes, chip, error, model line and actions of one pane (not the text). */
export function renderSlotMeta(view, slot) {
  const status = slot.status;
  slot.pane.dataset.status = status;
  slot.pane.setAttribute("aria-busy", status === "streaming" ? "true" : "false");
  slot.chip.className = `chip chip-${status}`;
  slot.chip.textContent = t(`status.${status}`);
  const errorText = status === "error" ? (slot.error || t("pane.failed")) : status === "cancelled" ? t("pane.stopped") : "";
  slot.errorEl.textContent = errorText;
  slot.errorEl.hidden = !errorText;
  slot.errorEl.classList.toggle("is-error", status === "error");
  // Retry once the whole turn has ended: the turn's socket is then opened anew for it.
  slot.retryButton.hidden = !(status === "error" || status === "cancelled") || turnStreaming(view);

  const fb = view.feedback;
  const showModel = (Boolean(fb) || !view.paired) && Boolean(slot.endpoint || slot.model);
  slot.modelEl.hidden = !showModel;
  const names = [slot.endpoint, slot.model].filter(Boolean).join(" · ");
  slot.modelEl.textContent = !showModel ? "" : view.paired ? `${slot.name.toUpperCase()}: ${names}` : t("pane.model", { name: names });
  const winner = Boolean(fb) && fb.choice === slot.name;
  slot.pane.classList.toggle("winner", winner);
  slot.winnerBadge.hidden = !winner;
  slot.editedBadge.hidden = slot.edited === null;

  const done = status === "done" && Boolean(slot.id);
  slot.actions.hidden = !done || slot.editing;
  // Editing a pair's answer before the vote would change what is being compared.
  slot.editButton.hidden = view.paired && !fb;
  const rated = slot.rating && slot.rating.rating;
  for (const b of [slot.upButton, slot.downButton]) {
    const pressed = rated ? rated === b.dataset.rating : slot.rating_open === b.dataset.rating;
    b.setAttribute("aria-pressed", pressed ? "true" : "false");
    b.disabled = Boolean(rated);
  }
  slot.ratedNote.textContent = rated ? t(rated === "up" ? "rate.thanksUp" : "rate.thanksDown") : "";
  slot.rateForm.hidden = !done || Boolean(rated) || !slot.rating_open;
  slot.editForm.hidden = !slot.editing;
  slot.body.hidden = slot.editing;
}
