/* Model text as sanitised HTML: marked parses, DOMPurify cleans, one render per frame.
 *
 * marked and DOMPurify are the vendored classic scripts in app/static/vendor, loaded before
 * this module; without them the text is shown as plain text.
 */
import { isNearBottom, scrollToBottom } from "./dom.js";
import { shownText } from "./pane-view.js";

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let parser = null;

/** Configure marked and DOMPurify once, before the first render. */
export function initMarkdown() {
  const { marked, DOMPurify } = window;
  if (marked && typeof marked.Marked === "function") {
    parser = new marked.Marked({
      gfm: true,
      breaks: true,
      async: false,
      renderer: {
        // Raw HTML from the model is shown as the text it is, never parsed: a chat answer
        // that contains <img onerror=...> then reads as written, and the browser does not
        // even see the attribute (Chrome reports a CSP violation for merely parsing one).
        html(token) {
          const text = escapeHtml(token.text);
          return token.block ? `<p class="raw-html">${text}</p>` : text;
        },
        // Remote images would be blocked by the page's CSP: link to them instead.
        image(token) {
          if (/^data:image\//i.test(token.href || "")) return false;
          const label = escapeHtml(token.text || token.href || "image");
          return `<a href="${escapeHtml(token.href || "")}">${label}</a>`;
        },
      },
    });
  }
  if (DOMPurify && typeof DOMPurify.addHook === "function") {
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A" && node.hasAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
      }
      if (node.tagName === "IMG" && !/^data:image\//i.test(node.getAttribute("src") || "")) {
        node.removeAttribute("src");
      }
    });
  }
}

/** Render model text into el as sanitised HTML (plain text if the libraries are missing). */
export function renderMarkdown(el, text) {
  if (parser && window.DOMPurify) {
    try {
      el.innerHTML = window.DOMPurify.sanitize(parser.parse(text), {
        FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
        FORBID_ATTR: ["style"],
      });
      return;
    } catch {
      /* fall through to plain text */
    }
  }
  el.textContent = text;
}

const dirtySlots = new Set();
let renderFrame = 0;

/** Re-render a slot's text at the next animation frame (tokens arrive faster than frames). */
export function scheduleRender(slot) {
  dirtySlots.add(slot);
  if (!renderFrame) renderFrame = requestAnimationFrame(flushRender);
}

function flushRender() {
  renderFrame = 0;
  const stick = isNearBottom();
  for (const slot of dirtySlots) renderMarkdown(slot.body, shownText(slot));
  dirtySlots.clear();
  if (stick) scrollToBottom();
}
