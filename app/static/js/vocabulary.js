/* The allowed values (slots, statuses, choices, ...) as the server defines them.
 *
 * app/vocabulary.py is their one definition; app/web/pages.py renders it into the page as
 * the JSON of <html data-vocabulary>: data in an attribute, so the page keeps no inline
 * <script> of any kind. UI labels keyed by these values live with the code that shows them.
 */
const vocabulary = JSON.parse(document.documentElement.dataset.vocabulary);

/** A turn's slots, in order: the first answers a single turn, the second joins a pair. */
export const SLOTS = Object.freeze([...vocabulary.slots]);
/** The choices of a vote on a pair, in the order their buttons appear. */
export const CHOICES = Object.freeze([...vocabulary.choices]);
/** Statuses a response never leaves. */
export const TERMINAL_STATUSES = new Set(vocabulary.terminal_statuses);

/** The slots of a turn: both for a pair, the first alone otherwise. */
export const slotsOf = (paired) => (paired ? SLOTS : SLOTS.slice(0, 1));
