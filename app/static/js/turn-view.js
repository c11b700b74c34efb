/* One turn on the page: the user's message, one or two answer panes, and the vote or re-roll.
 *
 * A TurnView is the turn's DOM plus what the page holds of it; its slots carry the text and
 * status that the relay (relay.js) fills in. The buttons' clicks are handled in turns.js.
 */
import { h, uid } from "./dom.js";
import { busy, turnStreaming } from "./state.js";
import { CHOICES, SLOTS, TERMINAL_STATUSES, slotsOf } from "./vocabulary.js";

/** The words for each vote choice (keyed by the vocabulary's choices). */
export const CHOICE_LABEL = { a: "A is better", b: "B is better", tie: "Tie", both_bad: "Both are bad" };
const STATUS_LABEL = { streaming: "Streaming…", done: "Done", error: "Failed", cancelled: "Stopped" };
const PAIR_NOTE = {
  sampled: "Two answers this time. Which one is better?",
  requested: "You asked to compare two answers.",
  reroll: "Re-rolled for comparison.",
};

/**
 * Build the DOM and state for one turn.
 * turn: {id, content, paired, trigger, responses: [{slot, content, status, error, endpoint, model}], feedback}
 */
export function buildTurnView(turn) {
  const paired = Boolean(turn.paired);
  const view = {
    id: turn.id,
    content: turn.content || "",
    paired,
    trigger: turn.trigger || (paired ? "requested" : "single"),
    feedback: turn.feedback || null,
    slots: new Map(),
    voting: false,
    el: null,
  };
  const responses = new Map((turn.responses || []).map((r) => [r.slot, r]));

  const el = h("li", { class: `turn ${paired ? "paired" : "single"}`, "data-turn-id": view.id });
  el.append(h("div", { class: "user-row" },
    h("div", { class: "user-bubble" },
      h("span", { class: "visually-hidden" }, "You said: "),
      h("p", { class: "user-text" }, view.content))));

  if (paired) el.append(h("p", { class: "turn-note" }, PAIR_NOTE[view.trigger] || "Compare two answers."));

  const panes = h("div", { class: paired ? "pair-grid" : "single-response" });
  for (const name of slotsOf(paired)) {
    const slot = buildSlot(view, name, responses.get(name));
    view.slots.set(name, slot);
    panes.append(slot.pane);
  }
  el.append(panes);

  view.reconnecting = h("p", { class: "reconnecting", hidden: true }, h("span", { class: "spinner", "aria-hidden": "true" }), "Reconnecting…");
  el.append(view.reconnecting);

  if (paired) {
    el.append(buildVote(view));
  } else {
    view.rerollButton = h("button", { type: "button", class: "button subtle reroll", hidden: true,
      title: "Generate a second answer to compare with this one" }, "Re-roll / compare");
    el.append(h("div", { class: "turn-actions" }, view.rerollButton));
  }
  view.el = el;
  updateTurnUI(view);
  return view;
}

function buildSlot(view, name, response) {
  const r = response || { content: "", status: "streaming" };
  const labelId = uid("pane-label");
  const label = view.paired
    ? h("h3", { class: `pane-label slot-${name}`, id: labelId }, name.toUpperCase())
    : h("h3", { class: "pane-label assistant", id: labelId }, "Answer");
  const chip = h("span", { class: "chip" });
  const body = h("div", { class: "pane-body md" });
  const errorEl = h("p", { class: "pane-error", hidden: true });
  const modelEl = h("p", { class: "model-name", hidden: true });
  const pane = h("article", { class: `pane slot-${name}`, "data-slot": name, "aria-labelledby": labelId },
    h("header", { class: "pane-head" }, label, chip), body, errorEl, modelEl);
  const slot = {
    name,
    text: typeof r.content === "string" ? r.content : "",
    seq: 0,
    status: TERMINAL_STATUSES.has(r.status) ? r.status : "streaming",
    finishReason: r.finish_reason || null,
    error: r.error || null,
    endpoint: r.endpoint || null,
    model: r.model || null,
    stale: false, // text came from HTTP and will be replaced by the socket's replay
    pane, body, chip, errorEl, modelEl,
  };
  renderSlotMeta(view, slot);
  return slot;
}

/** Status attributes, chip, error and model line of one pane (not the text). */
function renderSlotMeta(view, slot) {
  slot.pane.dataset.status = slot.status;
  slot.pane.setAttribute("aria-busy", slot.status === "streaming" ? "true" : "false");
  slot.chip.className = `chip chip-${slot.status}`;
  slot.chip.textContent = STATUS_LABEL[slot.status] || slot.status;
  const errorText = slot.status === "error"
    ? (slot.error || "The answer could not be generated.")
    : slot.status === "cancelled" ? "Stopped before the answer was finished." : "";
  slot.errorEl.textContent = errorText;
  slot.errorEl.hidden = !errorText;
  slot.errorEl.classList.toggle("is-error", slot.status === "error");
  const showModel = Boolean(view.feedback) && Boolean(slot.endpoint || slot.model);
  slot.modelEl.hidden = !showModel;
  slot.modelEl.textContent = showModel
    ? `${view.paired ? `${slot.name.toUpperCase()}: ` : ""}${[slot.endpoint, slot.model].filter(Boolean).join(" · ")}`
    : "";
}

function buildVote(view) {
  const questionId = uid("vote-question");
  const reasonId = uid("vote-reason");
  const noteId = uid("vote-note");
  view.voteButtons = CHOICES.map((choice) => h("button", { type: "button", class: `button vote-button choice-${choice}`,
    "data-choice": choice, "aria-pressed": "false", "aria-describedby": noteId }, CHOICE_LABEL[choice]));
  view.reason = h("textarea", { id: reasonId, class: "vote-reason", rows: 2, placeholder: "What made the difference?" });
  view.voteNote = h("p", { class: "vote-note", id: noteId });
  view.voteResult = h("p", { class: "vote-result", tabindex: "-1", hidden: true });
  view.vote = h("div", { class: "vote", role: "group", "aria-labelledby": questionId },
    h("p", { class: "vote-question", id: questionId }, "Which answer is better?"),
    h("div", { class: "vote-buttons" }, ...view.voteButtons),
    h("div", { class: "vote-reason-field" },
      h("label", { for: reasonId }, "Reason (optional)"), view.reason),
    view.voteNote,
    view.voteResult);
  return view.vote;
}

/** Refresh everything of a turn that depends on its slots' statuses. */
export function updateTurnUI(view) {
  for (const slot of view.slots.values()) renderSlotMeta(view, slot);
  view.el.classList.toggle("is-streaming", turnStreaming(view));
  if (view.paired) updateVote(view);
  else if (view.rerollButton) {
    const slot = view.slots.get(SLOTS[0]);
    view.rerollButton.hidden = !(slot && slot.status === "done");
    view.rerollButton.disabled = busy();
  }
}

/** The vote's buttons, reason, note and result line for the turn's statuses and feedback. */
export function updateVote(view) {
  const slots = [...view.slots.values()];
  const allDone = slots.every((s) => s.status === "done");
  const failed = slots.filter((s) => s.status === "error" || s.status === "cancelled");
  const fb = view.feedback;
  const canVote = !fb && allDone && !view.voting;
  for (const b of view.voteButtons) {
    b.disabled = !canVote;
    const chosen = Boolean(fb) && fb.choice === b.dataset.choice;
    b.setAttribute("aria-pressed", chosen ? "true" : "false");
    b.classList.toggle("chosen", chosen);
  }
  view.reason.disabled = Boolean(fb) || view.voting || failed.length > 0;
  if (fb && fb.reason && !view.reason.value) view.reason.value = fb.reason;
  view.vote.classList.toggle("voted", Boolean(fb));

  let note = "";
  if (fb) note = "";
  else if (failed.length) {
    const which = failed.map((s) => s.name.toUpperCase()).join(" and ");
    const how = failed.every((s) => s.status === "cancelled") ? "was stopped" : "did not finish";
    note = `Voting is not possible: answer ${which} ${failed.length > 1 ? how.replace("was", "were") : how}.`;
  } else if (!allDone) note = "Voting opens when both answers are finished.";
  else if (view.voting) note = "Recording your vote…";
  view.voteNote.textContent = note;
  view.voteNote.hidden = !note;
  view.vote.classList.toggle("unavailable", !fb && failed.length > 0);

  view.voteResult.hidden = !fb;
  view.voteResult.textContent = fb ? `Vote recorded: ${CHOICE_LABEL[fb.choice] || fb.choice}` : "";
}
