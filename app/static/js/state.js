/* What the page holds: the conversations, the open one and its turns, and what is in flight. */

export const state = {
  conversations: [],
  currentId: null,
  conversation: null,
  turns: new Map(), // turn id -> TurnView of the open conversation
  sending: false,
  stopping: false,
  loadToken: 0,
};

/** Whether a slot is still streaming (its status not final yet). */
export const slotStreaming = (slot) => slot.status === "streaming";
/** Whether any slot of a turn is still streaming. */
export const turnStreaming = (view) => [...view.slots.values()].some(slotStreaming);
/** Whether any turn of the open conversation is still streaming. */
export const anyTurnStreaming = () => [...state.turns.values()].some(turnStreaming);
/** Whether a message is being sent or an answer streams: no new message, no re-roll. */
export const busy = () => state.sending || anyTurnStreaming();
