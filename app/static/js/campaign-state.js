/* What the page holds of campaigns: the open ones (GET /api/campaigns) and the one shown.
 *
 * `token` grows whenever the campaign view is entered or left, so an answer that arrives for
 * a view the user has already left is dropped.
 */

export const campaigns = {
  list: [], // [{id, name, guidelines, items, rated, mine, votes, overlap, created_at}]
  id: null, // the campaign shown, or null in the chat
  token: 0,
};

/** The open campaign with `id`, or undefined. */
export const campaignById = (id) => campaigns.list.find((c) => c.id === id);
