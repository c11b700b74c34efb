/* The vote under a pair: A's button under A, B's under B, tie and both bad below both; then
 * the reveal, the reason and tags (choose first, explain after), and a skip. Once the
 * conversation has moved on, the panel folds to one line. Clicks: vote-actions.js.
 */
import { h, uid } from "./dom.js";
import { modelLabel, pressTags, tagChips } from "./pane-view.js";
import { explainable } from "./settings.js";
import { t } from "./strings.js";
import { CHOICES, SLOTS } from "./vocabulary.js";

/** The words for a choice's button. */
export const choiceLabel = (choice) => t(`choice.${choice}`);

/** The confirmation of a vote, naming the models: "You preferred B: beta over alpha". */
export function resultText(view) {
  const fb = view.feedback;
  if (!fb) return "";
  const [first, second] = SLOTS.map((s) => view.slots.get(s));
  return t(`result.${fb.choice}`, { a: modelLabel(first), b: modelLabel(second) });
}

/** Build the vote panel of a paired turn (its parts are kept on the view). */
export function buildVote(view) {
  const questionId = uid("vote-question");
  const reasonId = uid("vote-reason");
  const noteId = uid("vote-note");
  const skipId = uid("skip-reason");
  view.voteButtons = CHOICES.map((choice) => h("button", { type: "button", class: `button vote-button choice-${choice}`,
    "data-choice": choice, "aria-pressed": "false", "aria-describedby": noteId,
    "aria-keyshortcuts": String(CHOICES.indexOf(choice) + 1) }, choiceLabel(choice)));
  const [a, b, ...others] = view.voteButtons;
  const tags = tagChips(t("vote.tags"));
  view.voteChips = tags.chips;
  view.reason = h("textarea", { id: reasonId, class: "vote-reason", rows: 2, placeholder: t("vote.reasonPlaceholder") });
  view.explainSave = h("button", { type: "button", class: "button explain-save", hidden: true }, t("vote.save"));
  view.explainStatus = h("span", { class: "explain-status", role: "status" });
  view.voteNote = h("p", { class: "vote-note", id: noteId });
  view.voteResult = h("p", { class: "vote-result", tabindex: "-1", hidden: true });
  view.skipButton = h("button", { type: "button", class: "button subtle skip-open" }, t("vote.skip"));
  view.skipReason = h("input", { id: skipId, class: "skip-reason", type: "text", maxlength: 2000 });
  view.skipForm = h("div", { class: "skip-form", hidden: true },
    h("label", { class: "field-label", for: skipId }, t("vote.skipReason")), view.skipReason,
    h("div", { class: "form-buttons" },
      h("button", { type: "button", class: "button skip-confirm" }, t("vote.skipConfirm")),
      h("button", { type: "button", class: "button subtle skip-cancel" }, t("vote.skipCancel"))));
  view.voteSummary = h("button", { type: "button", class: "vote-summary", "aria-expanded": "false" });
  view.voteBody = h("div", { class: "vote-body" },
    h("div", { class: "vote-head" },
      h("p", { class: "vote-question", id: questionId }, t("vote.question")),
      h("p", { class: "vote-keys" }, t("vote.keys"))),
    h("div", { class: "vote-buttons" }, a, b, h("div", { class: "vote-more" }, ...others)),
    view.voteResult,
    view.voteNote,
    h("div", { class: "vote-explain" }, tags.group,
      h("label", { class: "field-label", for: reasonId }, t("vote.reason")), view.reason,
      h("div", { class: "form-buttons" }, view.explainSave, view.explainStatus)),
    h("div", { class: "vote-skip" }, view.skipButton, view.skipForm));
  view.vote = h("div", { class: "vote", role: "group", "aria-labelledby": questionId }, view.voteSummary, view.voteBody);
  view.collapsed = false;
  return view.vote;
}

function summaryText(view, failed) {
  if (view.feedback) return resultText(view);
  if (view.skip) return view.skip.reason ? t("vote.skippedBecause", { reason: view.skip.reason }) : t("vote.skipped");
  if (failed.length) return `${t("vote.notRated")} · ${failedNote(failed)}`;
  return t("vote.notRated");
}

function failedNote(failed) {
  const which = failed.map((s) => s.name.toUpperCase()).join(" & ");
  return t(failed.every((s) => s.status === "cancelled") ? "vote.stopped" : "vote.failed", { which });
}

/** The vote's buttons, reason, note, result and fold for the turn's statuses and feedback. */
export function updateVote(view) {
  const slots = [...view.slots.values()];
  const allDone = slots.every((s) => s.status === "done");
  const failed = slots.filter((s) => s.status === "error" || s.status === "cancelled");
  const fb = view.feedback;
  const settled = Boolean(fb) || Boolean(view.skip);
  const canVote = !settled && allDone && !view.voting;
  for (const b of view.voteButtons) {
    b.disabled = !canVote;
    const chosen = Boolean(fb) && fb.choice === b.dataset.choice;
    b.setAttribute("aria-pressed", chosen ? "true" : "false");
    b.classList.toggle("chosen", chosen);
  }
  const open = fb ? explainable(fb.created_at) : !view.skip && failed.length === 0;
  view.reason.disabled = !open || view.voting;
  for (const c of view.voteChips) c.disabled = !open || view.voting;
  if (fb && !view.explainDirty) {
    if (fb.reason && !view.reason.value) view.reason.value = fb.reason;
    pressTags(view.voteChips, fb.tags);
  }
  view.explainSave.hidden = !fb || !open;
  if (fb && !open) view.explainStatus.textContent = t("vote.closed");
  view.vote.classList.toggle("voted", Boolean(fb));
  view.vote.classList.toggle("skipped", Boolean(view.skip));
  view.vote.classList.toggle("unavailable", !settled && failed.length > 0);

  let note = "";
  if (settled) note = fb ? "" : summaryText(view, failed);
  else if (failed.length) note = failedNote(failed);
  else if (!allDone) note = t("vote.wait");
  else if (view.voting) note = t("vote.recording");
  view.voteNote.textContent = note;
  view.voteNote.hidden = !note;

  view.voteResult.hidden = !fb;
  view.voteResult.textContent = resultText(view);
  view.skipButton.hidden = settled || view.skipOpen || !slots.every((s) => s.status !== "streaming");
  view.skipForm.hidden = settled || !view.skipOpen;
  view.vote.classList.toggle("collapsed", view.collapsed);
  view.voteBody.hidden = view.collapsed;
  view.voteSummary.hidden = !view.collapsed;
  view.voteSummary.setAttribute("aria-expanded", view.collapsed ? "false" : "true");
  view.voteSummary.textContent = view.collapsed ? summaryText(view, failed) : "";
  view.voteSummary.classList.toggle("is-voted", Boolean(fb));
}
