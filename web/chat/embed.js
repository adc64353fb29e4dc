/* Parley web chat launcher.
 *
 *   <script src="https://parley.example/chat/embed.js" data-address="IG…" async></script>
 *
 * Optional attributes: data-name (pre-fills the customer's name), data-label (button text, default "Chat"),
 * data-color (launcher colour, default #1d4ed8), data-position ("right" | "left"), data-lang ("en", "de";
 * default: the visitor's browser language), data-strings (JSON: the site's own wording of any string, see
 * strings.js), data-identity-token (a JWT the site's backend signed for a signed-in customer: docs/webchat.md).
 * The token and the wording travel in the chat page's URL fragment, which no server sees.
 * Adds a floating launcher button and the chat page in a hidden iframe (so a chat already going on in another
 * tab or page of the site goes on here: the launcher shows a badge and the page title a count of the messages
 * the customer has not seen while the chat is closed). Styles live in a shadow root so the host page's CSS
 * cannot break the launcher (and vice versa). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__parleyChatLoaded) return;
  window.__parleyChatLoaded = true;

  var address = script.getAttribute("data-address") || "";
  var name = script.getAttribute("data-name") || "";
  var label = script.getAttribute("data-label") || "Chat";
  var color = script.getAttribute("data-color") || "#1d4ed8";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var lang = script.getAttribute("data-lang") || "";
  var strings = script.getAttribute("data-strings") || "";
  var identityToken = script.getAttribute("data-identity-token") || "";
  var chatUrl = new URL("./", script.src);
  chatUrl.searchParams.set("address", address);
  if (name) chatUrl.searchParams.set("name", name);
  if (lang) chatUrl.searchParams.set("lang", lang);
  var fragment = new URLSearchParams();
  if (identityToken) fragment.set("identity", identityToken);
  if (strings) fragment.set("strings", strings);
  chatUrl.hash = fragment.toString();
  // The launcher's own few words; the chat page has the rest (strings.js).
  var words = {
    en: { close: "Close", open: "Open chat", closeChat: "Close chat", one: " new message", many: " new messages", title: "Chat with us" },
    de: { close: "Schließen", open: "Chat öffnen", closeChat: "Chat schließen", one: " neue Nachricht", many: " neue Nachrichten", title: "Chatten Sie mit uns" },
  };
  var asked = (lang || navigator.language || "en").toLowerCase().split("-")[0];
  var w = words[asked] || words.en;

  var css =
    ":host{all:initial}" +
    ".launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483646;display:flex;align-items:center;gap:8px;" +
    "height:56px;padding:0 20px 0 16px;border:0;border-radius:28px;background:var(--c);color:#fff;cursor:pointer;" +
    "font:600 15px/1 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;" +
    "box-shadow:0 8px 24px rgba(15,23,42,.25);transition:transform .15s ease}" +
    ".launcher:hover{transform:translateY(-2px)}" +
    ".badge{min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;" +
    "font:700 12px/20px system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;text-align:center}" +
    ".badge[hidden]{display:none}" +
    ".launcher:focus-visible{outline:3px solid #93b4ff;outline-offset:3px}" +
    ".frame{position:fixed;bottom:88px;" + side + ":20px;z-index:2147483647;width:380px;height:600px;" +
    "max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);border:0;border-radius:14px;overflow:hidden;" +
    "background:#fff;box-shadow:0 20px 50px rgba(15,23,42,.25)}" +
    ".frame[hidden]{display:none}" +
    "iframe{width:100%;height:100%;border:0;display:block}" +
    "@media (max-width:480px){.frame{inset:0;width:100vw;height:100vh;max-width:none;max-height:none;border-radius:0}}" +
    "@media (prefers-reduced-motion:reduce){.launcher{transition:none}}";

  var chatIcon = '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="currentColor" ' +
    'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
  var closeIcon = '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="currentColor" ' +
    'd="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z"/></svg>';

  function mount() {
    var host = document.createElement("div");
    host.setAttribute("data-parley-chat", "");
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = document.createElement("style");
    style.textContent = css;

    var panel = document.createElement("div");
    panel.className = "frame";
    panel.id = "parley-chat-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", w.title);

    var button = document.createElement("button");
    button.type = "button";
    button.className = "launcher";
    button.style.setProperty("--c", color);
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", panel.id);

    var iframe = document.createElement("iframe");
    iframe.title = w.title;
    iframe.src = chatUrl.href;
    iframe.allow = "clipboard-write";
    panel.appendChild(iframe);
    var unread = 0;
    var title = document.title;

    function render(open) {
      button.innerHTML = (open ? closeIcon : chatIcon) + "<span></span><span class=\"badge\" aria-hidden=\"true\"></span>";
      button.querySelector("span").textContent = open ? w.close : label;
      var badge = button.querySelector(".badge");
      badge.textContent = String(unread);
      badge.hidden = open || !unread;
      var unseen = !open && unread ? ", " + unread + (unread === 1 ? w.one : w.many) : "";
      button.setAttribute("aria-label", (open ? w.closeChat : w.open) + unseen);
      button.setAttribute("aria-expanded", String(open));
      // The host page's title says it too while the chat is closed (a tab in the background shows it).
      if (!open && unread) {
        if (!/^\(\d+\) /.test(document.title)) title = document.title;
        document.title = "(" + unread + ") " + title;
      } else if (/^\(\d+\) /.test(document.title)) {
        document.title = title;
      }
    }
    function setOpen(open) {
      panel.hidden = !open;
      render(open);
      if (open) iframe.focus();
      else button.focus();
    }

    button.addEventListener("click", function () { setOpen(panel.hidden); });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && !panel.hidden) setOpen(false);
    });
    window.addEventListener("message", function (ev) {
      if (ev.source !== iframe.contentWindow || !ev.data) return;
      if (ev.data.type === "parley:close") setOpen(false);
      if (ev.data.type === "parley:unread" && typeof ev.data.count === "number") {
        unread = Math.max(0, Math.floor(ev.data.count));
        render(!panel.hidden);
      }
    });

    render(false);
    root.appendChild(style);
    root.appendChild(panel);
    root.appendChild(button);
    document.body.appendChild(host);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
