/* Sharing a chart card: "Copy link" copies the page's URL (the view) with the card's #anchor; "Embed"
   copies an iframe snippet of /embed/chart/<id>?<view>. Both are built when clicked, from the URL as it is
   then (the URL is the view), copied with the clipboard API and shown in the card, selectable, in case the
   browser refuses the clipboard. A page opened on a #chart-... anchor scrolls to that card once the app
   has drawn it (Dash renders after the browser's own jump to the anchor). */
(function () {
  "use strict";

  function escapeAttribute(text) {
    return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function query(params) {
    const text = params.toString().replace(/%2C/gi, ",");
    return text ? "?" + text : "";
  }

  function linkTo(card) {
    return location.origin + location.pathname + location.search + "#" + card.id;
  }

  function embedSnippet(card, share) {
    const params = new URLSearchParams(location.search);
    new URLSearchParams(share.dataset.embedQuery || "").forEach((value, name) => params.set(name, value));
    const src = location.origin + share.dataset.embedPath + query(params);
    const heading = card.querySelector(".chart-title");
    const title = (heading && heading.textContent) || "Open Weights Tracker chart";
    return '<iframe src="' + escapeAttribute(src) + '" title="' + escapeAttribute(title) +
      '" width="100%" height="600" style="border:0" loading="lazy"></iframe>';
  }

  function show(share, kind, text, copied) {
    const panel = share.querySelector(".share-panel");
    panel.replaceChildren();
    const field = document.createElement(kind === "link" ? "input" : "textarea");
    field.readOnly = true;
    field.value = text;
    field.className = "share-text";
    field.dataset.share = kind + "-text";
    field.setAttribute("aria-label", kind === "link" ? "Link to this chart" : "HTML to embed this chart");
    const status = document.createElement("span");
    status.className = "share-status";
    status.textContent = copied ? (kind === "link" ? "Link copied." : "Embed HTML copied.") :
      "Copy it from here (the browser did not allow the clipboard).";
    panel.append(field, status);
    field.addEventListener("focus", () => field.select());
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest && event.target.closest("button[data-share]");
    if (!button) return;
    const share = button.closest(".chart-share");
    const card = button.closest(".chart-card");
    const kind = button.dataset.share;
    const text = kind === "link" ? linkTo(card) : embedSnippet(card, share);
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (error) {
      copied = false;
    }
    show(share, kind, text, copied);
  });

  function scrollToCard() {
    const anchor = decodeURIComponent(location.hash.slice(1));
    if (!anchor.startsWith("chart-")) return;
    const deadline = Date.now() + 20000;
    const tryScroll = () => {
      const card = document.getElementById(anchor);
      // Once the card's chart is drawn the cards above it have their height: the scroll stays put.
      if (card && card.querySelector(".js-plotly-plot .main-svg")) {
        card.scrollIntoView({block: "start"});
        observer.disconnect();
      } else if (Date.now() > deadline) {
        observer.disconnect();
      }
    };
    const observer = new MutationObserver(tryScroll);
    observer.observe(document.body, {childList: true, subtree: true});
    tryScroll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", scrollToCard);
  } else {
    scrollToCard();
  }
})();
