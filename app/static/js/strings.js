/* Every user-facing string of the page's scripts, by message id, in one catalog.
 *
 * t("id", {name: value}) fills {name} placeholders. A second language is one more object
 * of the same keys, chosen from navigator.languages (the template's own text is the
 * server's to translate).
 */

const en = {
  // statuses of one answer
  "status.streaming": "Streaming…",
  "status.done": "Done",
  "status.error": "Failed",
  "status.cancelled": "Stopped",
  "turn.youSaid": "You said: ",
  "turn.sending": "Sending…",
  "pane.answer": "Answer",
  "pane.failed": "The answer could not be generated.",
  "pane.stopped": "Stopped before the answer was finished.",
  "pane.edited": "Edited by you",
  "pane.model": "Model: {name}",
  "pane.show": "Show answer {slot}",
  "pane.segmented": "Answer shown",

  // why there are two answers
  "pair.sampled": "Two answers this time: pick the better one; the models are revealed after you vote, and the conversation goes on with your choice.",
  "pair.requested": "You asked for two answers: pick the better one; the models are revealed after you vote, and the conversation goes on with your choice.",
  "pair.reroll": "A second answer to compare with the first: pick the better one; the models are revealed after you vote, and the conversation goes on with your choice.",

  // the vote
  "choice.a": "A is better",
  "choice.b": "B is better",
  "choice.tie": "Tie",
  "choice.both_bad": "Both are bad",
  "vote.question": "Which answer is better?",
  "vote.keys": "Keys: 1 = A, 2 = B, 3 = tie, 4 = both bad",
  "vote.reason": "Why? (optional)",
  "vote.reasonPlaceholder": "What made the difference?",
  "vote.tags": "What stood out (optional)",
  "vote.save": "Save reason",
  "vote.saved": "Reason saved.",
  "vote.saving": "Saving…",
  "vote.closed": "The reason can no longer be changed.",
  "vote.wait": "Voting opens when both answers are finished.",
  "vote.recording": "Recording your vote…",
  "vote.failed": "Voting is not possible: answer {which} did not finish. Try again, or skip this pair.",
  "vote.stopped": "Voting is not possible: answer {which} was stopped. Try again, or skip this pair.",
  "vote.skip": "Skip this pair",
  "vote.skipReason": "Reason for skipping (optional)",
  "vote.skipConfirm": "Skip",
  "vote.skipCancel": "Cancel",
  "vote.skipped": "You skipped this pair.",
  "vote.skippedBecause": "You skipped this pair: {reason}",
  "vote.notRated": "Not rated yet",
  "vote.open": "Show the vote",
  "result.a": "You preferred A: {a} over {b}",
  "result.b": "You preferred B: {b} over {a}",
  "result.tie": "You called it a tie: {a} and {b}",
  "result.both_bad": "You found both bad: {a} and {b}",
  "result.unknown": "the model of {slot}",
  "result.winner": "Preferred",

  // thumbs, copy, edit, retry
  "rate.up": "Good answer",
  "rate.down": "Bad answer",
  "rate.send": "Send rating",
  "rate.cancel": "Cancel",
  "rate.reason": "Why? (optional)",
  "rate.tags": "What stood out (optional)",
  "rate.thanksUp": "You rated this answer good.",
  "rate.thanksDown": "You rated this answer bad.",
  "copy": "Copy",
  "copy.done": "Copied",
  "copy.failed": "Copying is not allowed here; select the text instead.",
  "edit": "Edit",
  "edit.label": "Your corrected answer",
  "edit.save": "Save edit",
  "edit.cancel": "Cancel",
  "edit.saved": "Edit saved: the conversation goes on with your version.",
  "retry": "Try again",
  "reroll": "Re-roll / compare",
  "reroll.title": "Generate a second answer to compare with this one",

  // the status line
  "announce.sending": "Sending…",
  "announce.notSent": "Not sent.",
  "announce.streamingPair": "Streaming two answers…",
  "announce.streaming": "Streaming…",
  "announce.streamingSecond": "Streaming a second answer…",
  "announce.stopping": "Stopping…",
  "announce.retrying": "Trying again…",
  "announce.skipped": "Skipped.",
  "announce.failed": "Failed: {error}",
  "announce.stopped": "Stopped.",
  "announce.done": "Done.",
  "announce.donePair": "Done. Which answer is better?",
  "announce.reconnecting": "Connection lost. Reconnecting…",
  "announce.reconnected": "Reconnected. Streaming…",
  "announce.reconnectedPair": "Reconnected. Streaming two answers…",
  "relay.gap": "Part of the answer was lost in transit. Reload the page to see it in full.",
  "relay.unknown": "This turn is unknown to the server.",
  "relay.notFound": "This answer could not be loaded: the turn was not found.",
  "relay.ended": "The answer ended unexpectedly.",
  "relay.reconnecting": "Reconnecting…",

  // conversations
  "conv.untitled": "New conversation",
  "conv.notFound": "That conversation could not be found.",
  "conv.rename": "Rename",
  "conv.renameLabel": "New name for “{title}”",
  "conv.delete": "Delete",
  "conv.deleteConfirm": "Delete “{title}” and its votes for good?",
  "conv.deleteYes": "Delete",
  "conv.deleteNo": "Keep",
  "conv.actions": "Actions for “{title}”",
  "conv.noMatch": "No conversation matches.",
  "conv.none": "No conversations yet.",
  "conv.deleted": "Conversation deleted.",

  // talking to the server
  "api.network": "Could not reach the server. Check your connection and try again.",
  "api.unreadable": "The server sent an answer that could not be read.",
  "api.server": "Something went wrong on the server (HTTP {status}). Please try again.",

  // the data notice and the account
  "notice.dismiss": "Got it",
  "account.signout": "Sign out",
};

const catalogs = { en };

function pickCatalog() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (catalogs[base]) return catalogs[base];
  }
  return en;
}

const catalog = pickCatalog();

/** The message `id` in the browser's language (English when missing), with {name}s filled. */
export function t(id, vars) {
  const text = catalog[id] ?? en[id] ?? id;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}
