/* Every user-facing string of the page's scripts, by message id, in one catalog.
 *
 * t("id", {name: value}) fills {name} placeholders. Each language is one object of the same
 * keys (tests/test_i18n.py checks that every language has every id of English, with the
 * same placeholders); the template's own text is the server's to translate
 * (app/translations).
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

  // the default REASON_TAGS (a deployment's own tags show as they are written)
  "tag.accurate": "accurate",
  "tag.helpful": "helpful",
  "tag.clear": "clear",
  "tag.concise": "concise",
  "tag.safe": "safe",
  "tag.well formatted": "well formatted",

  // campaigns: prompt sets rated by several raters (campaign*.js)
  "campaigns.heading": "Campaigns",
  "campaigns.count": "{mine} of {items} done",
  "campaign.guidelines": "Guidelines",
  "campaign.prompt": "Prompt",
  "campaign.systemPrompt": "System prompt",
  "campaign.progress": "{mine} of {items} done",
  "campaign.progressItem": "{mine} of {items} done, {people}",
  "campaign.people.none": "nobody has rated this one yet",
  "campaign.people.one": "1 person rated this one",
  "campaign.people.many": "{n} people rated this one",
  "campaign.complete": "Items with all their {overlap} votes: {rated} of {items}",
  "campaign.loading": "Getting the next item…",
  "campaign.nothingLeft": "Nothing left to rate here.",
  "campaign.nothingLeftWhy": "You have rated every item you can: the others have the votes they need, or are with other raters for now. Thank you!",
  "campaign.checkAgain": "Check again",
  "campaign.closed": "This campaign is closed: it hands out no more items.",
  "campaign.notFound": "That campaign could not be found; it may have been closed.",
  "campaign.failed": "The next item could not be loaded.",
  "campaign.tryAgain": "Try again",
  "campaign.expired": "The last item waited too long for your vote and went to other raters. Here is the next one.",
  "campaign.skipped": "You skipped the last item.",
  "campaign.skipLink": "Skip to the prompt",
  "pair.campaign": "Two answers to this prompt: pick the better one. Tags and a reason, if you add them first, go with your vote; the models are then revealed and the next item comes at once.",
};

/* French: a no-break space (U+00A0) before the double punctuation marks and inside quotes. */
const fr = {
  // statuses of one answer
  "status.streaming": "En cours…",
  "status.done": "Terminée",
  "status.error": "Échec",
  "status.cancelled": "Arrêtée",
  "turn.youSaid": "Vous avez dit : ",
  "turn.sending": "Envoi…",
  "pane.answer": "Réponse",
  "pane.failed": "La réponse n’a pas pu être générée.",
  "pane.stopped": "Arrêtée avant la fin de la réponse.",
  "pane.edited": "Corrigée par vous",
  "pane.model": "Modèle : {name}",
  "pane.show": "Afficher la réponse {slot}",
  "pane.segmented": "Réponse affichée",

  // why there are two answers
  "pair.sampled": "Deux réponses cette fois : choisissez la meilleure ; les modèles sont dévoilés après votre vote, et la conversation continue avec votre choix.",
  "pair.requested": "Vous avez demandé deux réponses : choisissez la meilleure ; les modèles sont dévoilés après votre vote, et la conversation continue avec votre choix.",
  "pair.reroll": "Une seconde réponse à comparer avec la première : choisissez la meilleure ; les modèles sont dévoilés après votre vote, et la conversation continue avec votre choix.",

  // the vote
  "choice.a": "A est meilleure",
  "choice.b": "B est meilleure",
  "choice.tie": "Égalité",
  "choice.both_bad": "Toutes deux mauvaises",
  "vote.question": "Quelle réponse est la meilleure ?",
  "vote.keys": "Touches : 1 = A, 2 = B, 3 = égalité, 4 = toutes deux mauvaises",
  "vote.reason": "Pourquoi ? (facultatif)",
  "vote.reasonPlaceholder": "Qu’est-ce qui a fait la différence ?",
  "vote.tags": "Ce qui vous a marqué (facultatif)",
  "vote.save": "Enregistrer la raison",
  "vote.saved": "Raison enregistrée.",
  "vote.saving": "Enregistrement…",
  "vote.closed": "La raison ne peut plus être modifiée.",
  "vote.wait": "Le vote s’ouvre quand les deux réponses sont terminées.",
  "vote.recording": "Enregistrement de votre vote…",
  "vote.failed": "Impossible de voter : la réponse {which} n’a pas abouti. Réessayez, ou passez cette paire.",
  "vote.stopped": "Impossible de voter : la réponse {which} a été arrêtée. Réessayez, ou passez cette paire.",
  "vote.skip": "Passer cette paire",
  "vote.skipReason": "Raison pour passer (facultatif)",
  "vote.skipConfirm": "Passer",
  "vote.skipCancel": "Annuler",
  "vote.skipped": "Vous avez passé cette paire.",
  "vote.skippedBecause": "Vous avez passé cette paire : {reason}",
  "vote.notRated": "Pas encore évaluée",
  "vote.open": "Afficher le vote",
  "result.a": "Vous avez préféré A : {a} plutôt que {b}",
  "result.b": "Vous avez préféré B : {b} plutôt que {a}",
  "result.tie": "Égalité selon vous : {a} et {b}",
  "result.both_bad": "Toutes deux mauvaises selon vous : {a} et {b}",
  "result.unknown": "le modèle de {slot}",
  "result.winner": "Préférée",

  // thumbs, copy, edit, retry
  "rate.up": "Bonne réponse",
  "rate.down": "Mauvaise réponse",
  "rate.send": "Envoyer la note",
  "rate.cancel": "Annuler",
  "rate.reason": "Pourquoi ? (facultatif)",
  "rate.tags": "Ce qui vous a marqué (facultatif)",
  "rate.thanksUp": "Vous avez jugé cette réponse bonne.",
  "rate.thanksDown": "Vous avez jugé cette réponse mauvaise.",
  "copy": "Copier",
  "copy.done": "Copiée",
  "copy.failed": "La copie n’est pas permise ici ; sélectionnez plutôt le texte.",
  "edit": "Corriger",
  "edit.label": "Votre réponse corrigée",
  "edit.save": "Enregistrer la correction",
  "edit.cancel": "Annuler",
  "edit.saved": "Correction enregistrée : la conversation continue avec votre version.",
  "retry": "Réessayer",
  "reroll": "Relancer / comparer",
  "reroll.title": "Générer une seconde réponse à comparer avec celle-ci",

  // the status line
  "announce.sending": "Envoi…",
  "announce.notSent": "Non envoyé.",
  "announce.streamingPair": "Deux réponses en cours…",
  "announce.streaming": "Réponse en cours…",
  "announce.streamingSecond": "Seconde réponse en cours…",
  "announce.stopping": "Arrêt…",
  "announce.retrying": "Nouvel essai…",
  "announce.skipped": "Passée.",
  "announce.failed": "Échec : {error}",
  "announce.stopped": "Arrêtée.",
  "announce.done": "Terminé.",
  "announce.donePair": "Terminé. Quelle réponse est la meilleure ?",
  "announce.reconnecting": "Connexion perdue. Reconnexion…",
  "announce.reconnected": "Reconnecté. Réponse en cours…",
  "announce.reconnectedPair": "Reconnecté. Deux réponses en cours…",
  "relay.gap": "Une partie de la réponse s’est perdue en route. Rechargez la page pour la voir en entier.",
  "relay.unknown": "Ce tour est inconnu du serveur.",
  "relay.notFound": "Cette réponse n’a pas pu être chargée : le tour est introuvable.",
  "relay.ended": "La réponse s’est interrompue de façon inattendue.",
  "relay.reconnecting": "Reconnexion…",

  // conversations
  "conv.untitled": "Nouvelle conversation",
  "conv.notFound": "Cette conversation est introuvable.",
  "conv.rename": "Renommer",
  "conv.renameLabel": "Nouveau nom pour « {title} »",
  "conv.delete": "Supprimer",
  "conv.deleteConfirm": "Supprimer définitivement « {title} » et ses votes ?",
  "conv.deleteYes": "Supprimer",
  "conv.deleteNo": "Garder",
  "conv.actions": "Actions pour « {title} »",
  "conv.noMatch": "Aucune conversation ne correspond.",
  "conv.none": "Aucune conversation pour l’instant.",
  "conv.deleted": "Conversation supprimée.",

  // talking to the server
  "api.network": "Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.",
  "api.unreadable": "Le serveur a envoyé une réponse illisible.",
  "api.server": "Une erreur s’est produite sur le serveur (HTTP {status}). Veuillez réessayer.",

  // the data notice and the account
  "notice.dismiss": "Compris",
  "account.signout": "Se déconnecter",

  // the default REASON_TAGS (a deployment's own tags show as they are written)
  "tag.accurate": "exacte",
  "tag.helpful": "utile",
  "tag.clear": "claire",
  "tag.concise": "concise",
  "tag.safe": "sûre",
  "tag.well formatted": "bien présentée",

  // campaigns: prompt sets rated by several raters (campaign*.js)
  "campaigns.heading": "Campagnes",
  "campaigns.count": "{mine} sur {items} faits",
  "campaign.guidelines": "Instructions",
  "campaign.prompt": "Requête",
  "campaign.systemPrompt": "Consigne système",
  "campaign.progress": "{mine} sur {items} faits",
  "campaign.progressItem": "{mine} sur {items} faits, {people}",
  "campaign.people.none": "personne n’a encore évalué celui-ci",
  "campaign.people.one": "1 personne a évalué celui-ci",
  "campaign.people.many": "{n} personnes ont évalué celui-ci",
  "campaign.complete": "Éléments ayant leurs {overlap} votes : {rated} sur {items}",
  "campaign.loading": "Chargement de l’élément suivant…",
  "campaign.nothingLeft": "Plus rien à évaluer ici.",
  "campaign.nothingLeftWhy": "Vous avez évalué tout ce que vous pouviez : les autres éléments ont les votes qu’il leur faut, ou sont pour l’instant chez d’autres évaluateurs. Merci !",
  "campaign.checkAgain": "Vérifier à nouveau",
  "campaign.closed": "Cette campagne est close : elle ne distribue plus d’éléments.",
  "campaign.notFound": "Cette campagne est introuvable ; elle a peut-être été close.",
  "campaign.failed": "L’élément suivant n’a pas pu être chargé.",
  "campaign.tryAgain": "Réessayer",
  "campaign.expired": "Le dernier élément a attendu votre vote trop longtemps et est allé à d’autres évaluateurs. Voici le suivant.",
  "campaign.skipped": "Vous avez passé le dernier élément.",
  "campaign.skipLink": "Aller à la requête",
  "pair.campaign": "Deux réponses à cette requête : choisissez la meilleure. Les étiquettes et la raison, si vous les donnez d’abord, accompagnent votre vote ; les modèles sont alors dévoilés et l’élément suivant arrive aussitôt.",
};

export const catalogs = { en, fr };

/* The server picked the language from Accept-Language (LANGUAGES) and wrote it in
 * <html lang>, so the page's words and the server's agree; the browser's own list decides
 * only when the page names no language Duet has. */
function pickCatalog() {
  const tags = [document.documentElement.lang, ...(navigator.languages || [navigator.language])];
  for (const tag of tags) {
    const base = String(tag || "").toLowerCase().split("-")[0];
    if (catalogs[base]) return catalogs[base];
  }
  return en;
}

const catalog = pickCatalog();

/** The message `id` in the page's language (English when missing), with {name}s filled. */
export function t(id, vars) {
  const text = catalog[id] ?? en[id] ?? id;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** A reason tag as the page shows it: a default tag in the page's language, any other as written. */
export const tagLabel = (tag) => catalog[`tag.${tag}`] ?? en[`tag.${tag}`] ?? tag;
