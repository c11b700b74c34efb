/* One turn on the page: the user's message, one or two answer panes, and the vote or re-roll.
 *
 * A TurnView is the turn's DOM plus what the page holds of it; its slots carry the text and
 * status that the relay (relay.js) fills in. Panes are built in pane-view.js, the vote in
 * vote-view.js; clicks are handled in turns.js and the modules it dispatches to.
 */
import { h } from "./dom.js";
import { buildSlot, renderSlotMeta } from "./pane-view.js";
import { busy, state, turnStreaming } from "./state.js";
import { t } from "./strings.js";
import { SLOTS, slotsOf } from "./vocabulary.js";
import { buildVote, updateVote } from "./vote-view.js";

// The triggers of a pair, each with its own one-line explanation in strings.js.
const PAIR_TRIGGERS = ["sampled", "requested", "reroll", "campaign"];

/**
 * Build the DOM and state for one turn.
 * turn: {id, content, paired, trigger, responses: [{id, slot, content, status, error, endpoint,
 * model, rating, edit}], feedback, skip}
 */
export function buildTurnView(turn) {
  const paired = Boolean(turn.paired);
  const view = {
    id: turn.id,
    content: turn.content || "",
    paired,
    trigger: turn.trigger || (paired ? "requested" : "single"),
    feedback: turn.feedback || null,
    skip: turn.skip || null,
    slots: new Map(),
    voting: false,
    shown: SLOTS[0], // the pane a phone shows of a pair
    el: null,
  };
  const responses = new Map((turn.responses || []).map((r) => [r.slot, r]));

  const el = h("li", { class: `turn ${paired ? "paired" : "single"}`, "data-turn-id": view.id });
  el.append(h("div", { class: "user-row" },
    h("div", { class: "user-bubble" },
      h("span", { class: "visually-hidden" }, t("turn.youSaid")),
      h("p", { class: "user-text" }, view.content))));

  if (paired) {
    const why = PAIR_TRIGGERS.includes(view.trigger) ? view.trigger : "requested";
    el.append(h("p", { class: "turn-note" }, t(`pair.${why}`)));
    el.append(buildSegmented(view));
  }

  const panes = h("div", { class: paired ? "pair-grid" : "single-response", "data-shown": view.shown });
  view.panes = panes;
  for (const name of slotsOf(paired)) {
    const slot = buildSlot(view, name, responses.get(name));
    view.slots.set(name, slot);
    panes.append(slot.pane);
  }
  el.append(panes);

  view.reconnecting = h("p", { class: "reconnecting", hidden: true }, h("span", { class: "spinner", "aria-hidden": "true" }), t("relay.reconnecting"));
  el.append(view.reconnecting);

  if (paired) {
    el.append(buildVote(view));
  } else {
    view.rerollButton = h("button", { type: "button", class: "button subtle reroll", hidden: true,
      title: t("reroll.title") }, t("reroll"));
    el.append(h("div", { class: "turn-actions" }, view.rerollButton));
  }
  view.el = el;
  updateTurnUI(view);
  return view;
}

/** The A | B switch that shows one answer of a pair at a time on a narrow screen. */
function buildSegmented(view) {
  view.segments = slotsOf(true).map((name) => h("button", { type: "button", class: `segment slot-${name}`,
    "data-show": name, "aria-pressed": name === view.shown ? "true" : "false" },
  h("span", { "aria-hidden": "true" }, name.toUpperCase()),
  h("span", { class: "visually-hidden" }, t("pane.show", { slot: name.toUpperCase() }))));
  return h("div", { class: "segmented", role: "group", "aria-label": t("pane.segmented") }, ...view.segments);
}

/** Show answer `name` of a pair (on a phone, where only one fits). */
export function showSlot(view, name) {
  view.shown = name;
  view.panes.dataset.shown = name;
  for (const b of view.segments || []) b.setAttribute("aria-pressed", b.dataset.show === name ? "true" : "false");
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

/** Fold the vote of every pair but the latest turn's to one line (the user can unfold it). */
export function foldOlderVotes() {
  const views = [...state.turns.values()];
  const last = views[views.length - 1];
  for (const view of views) {
    if (!view.paired) continue;
    const fold = view !== last && !view.unfolded;
    if (view.collapsed !== fold) {
      view.collapsed = fold;
      updateVote(view);
    }
  }
}
