// The page's own behaviour, beside Gradio's (app.py puts this file in the page's <head>):
// citation and outline links, the share button of each answer, where the chat and the plan
// browser scroll to, and Chinese names for the few labels Gradio writes in English.
(() => {
  "use strict";
  const now = () => performance.now();

  // ---- scrolling: inside a pane, and the page only as far as needed --------------------------------

  // The nearest ancestor that scrolls vertically (the chat's message list, a plan browser pane).
  function scrollParent(el) {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowY;
      if ((overflow === "auto" || overflow === "scroll") && p.scrollHeight > p.clientHeight) return p;
    }
    return null;
  }

  // Where the page's visible area starts: below the tab bar when it sticks to the top (phones).
  function visibleTop() {
    const bar = document.querySelector("#tabs > .tab-wrapper");
    if (!bar || getComputedStyle(bar).position !== "sticky") return 0;
    const r = bar.getBoundingClientRect();
    return Math.abs(r.top) <= 1 ? r.bottom : 0;  // stuck at the top (not scrolled off with its tabs)
  }

  // Scroll `el` to the top (or a third of the way down) of its pane, moving nothing else: scrollIntoView
  // would scroll the page too, taking the title and the tab bar off the screen.
  function scrollInPane(el, where, pane = scrollParent(el)) {
    if (!pane) return;
    const offset = el.getBoundingClientRect().top - pane.getBoundingClientRect().top;
    const room = where === "third" ? pane.clientHeight / 3 : 8;
    pane.scrollTop = Math.max(0, pane.scrollTop + offset - room);
  }

  // When the first `lines` pixels of `el` are off the screen, scroll the page: to put `anchor` (the
  // chat, say) at the top when that shows them, else by the least that does.
  function revealInPage(el, lines = 60, anchor = null) {
    const r = el.getBoundingClientRect(), need = Math.min(r.height, lines);
    const top = visibleTop() + 8, bottom = window.innerHeight - 8;
    if (r.top >= top && r.top + need <= bottom) return;
    const a = anchor && anchor.getBoundingClientRect();
    if (a && r.top - a.top + need <= bottom - top && a.top <= r.top) window.scrollBy(0, a.top - top);
    else if (r.top < top) window.scrollBy(0, r.top - top);
    else window.scrollBy(0, r.top + need - bottom);
  }

  // ---- the plan browser ----------------------------------------------------------------------------

  // After a citation link: the quote a third of the way down the text pane.
  window.planScrollTo = function (selector) {
    let tries = 0;
    const go = () => {
      const el = document.querySelector(selector);
      if (!el) { if (tries++ < 20) setTimeout(go, 150); return; }
      scrollInPane(el, "third", document.querySelector("#plan-text-panel"));
      revealInPage(el);
    };
    setTimeout(go, 150);
  };

  // Another plan was chosen: both panes start at its beginning.
  window.planPanesToTop = function () {
    const reset = () => ["#outline-panel", "#plan-text-panel"].forEach((id) => {
      const pane = document.querySelector(id);
      if (pane) pane.scrollTop = 0;
    });
    reset();
    setTimeout(reset, 120);  // again once the new text is in the page
  };

  // ---- the chat: show the start of each new answer -------------------------------------------------

  // sent: when a question was last sent; moved: when the reader last scrolled the chat by hand. An
  // answer that arrives after the reader scrolled is not scrolled to: the ↓ button takes them there.
  const chat = {sent: 0, moved: 0, answers: 0, latest: null};
  const inChat = (event) => event.target.closest && event.target.closest("#chatbot");
  for (const type of ["wheel", "touchmove"]) {
    document.addEventListener(type, (e) => { if (inChat(e)) chat.moved = now(); }, {capture: true, passive: true});
  }
  const SCROLL_KEYS = new Set(["ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End", " "]);
  document.addEventListener("keydown", (e) => {
    if (inChat(e) && SCROLL_KEYS.has(e.key)) chat.moved = now();
    if (e.key === "Enter" && !e.shiftKey && e.target.closest && e.target.closest("#question")) chat.sent = now();
  }, true);
  document.addEventListener("pointerdown", (e) => {
    if (e.target.closest && e.target.closest("#send, [id^='examples-'] button")) chat.sent = now();
    // a press on the message list's scroll bar (outside its content box) is a hand scroll too
    const list = e.target.closest && e.target.closest("#chatbot .bubble-wrap");
    if (list && e.offsetX > list.clientWidth) chat.moved = now();
  }, true);

  // Scroll the message list so that the new answer's question, or at least the answer's first line,
  // is at the top of the list; then the page, by as little as shows that line.
  function showAnswer(row, arrived) {
    const list = document.querySelector("#chatbot .bubble-wrap");
    // not when a newer answer came meanwhile, nor when the reader has scrolled since this one came
    if (!list || !row.isConnected || row !== chat.latest || chat.moved >= arrived) return;
    const first = row.querySelector(".answer") || row;
    let from = first;
    for (let p = row.previousElementSibling; p; p = p.previousElementSibling) {
      if (p.classList.contains("user-row")) { from = p; break; }
    }
    const room = first.getBoundingClientRect().top - from.getBoundingClientRect().top;
    scrollInPane(room < list.clientHeight / 3 ? from : first, "top", list);
    revealInPage(first, 60, document.querySelector("#chatbot"));
  }

  function onMessages() {
    const rows = document.querySelectorAll("#chatbot .message-row.bot-row");
    if (rows.length < chat.answers) chat.answers = 0;  // a new conversation
    if (rows.length === chat.answers) return;
    chat.answers = rows.length;
    chat.latest = rows[rows.length - 1];
    if (chat.moved && chat.moved >= chat.sent) return;  // the reader is reading something else: leave them there
    const row = chat.latest, arrived = now();
    requestAnimationFrame(() => showAnswer(row, arrived));
    setTimeout(() => showAnswer(row, arrived), 250);  // again once late layout (fonts, tables) has settled
  }

  // The ↓ button: to the start of the latest answer when that is below the view; else to the bottom.
  document.addEventListener("click", (event) => {
    const down = event.target.closest && event.target.closest("#chatbot .scroll-down-button-container button");
    const list = document.querySelector("#chatbot .bubble-wrap");
    if (!down || !list || !chat.latest || !chat.latest.isConnected) return;
    const answer = chat.latest.querySelector(".answer") || chat.latest;
    if (answer.getBoundingClientRect().top > list.getBoundingClientRect().top + 16) {
      event.preventDefault();
      event.stopPropagation();
      scrollInPane(answer, "top", list);
    }
  }, true);

  // ---- links and the share button ------------------------------------------------------------------

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* the fallback below */ }
    }
    const area = document.createElement("textarea");  // plain http on a LAN address: no clipboard API
    area.value = text;
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    let done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    area.remove();
    return done;
  }

  async function share(link) {
    const answer = link.closest(".answer");
    const text = answer && answer.querySelector(".share-text");
    if (!text) return;
    window.planLastShared = text.textContent;  // what was copied, for the browser tests
    const done = await copyText(text.textContent);
    const label = link.dataset.label || (link.dataset.label = link.textContent);
    link.textContent = done ? "已复制，可直接粘贴" : "复制失败，请手动选择文字复制";
    setTimeout(() => { link.textContent = label; }, 2500);
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a") : null;
    if (!link) return;
    const href = link.getAttribute("href") || "";
    if (href === "#share" && link.classList.contains("share")) {
      event.preventDefault();
      share(link);
      return;
    }
    if (href.startsWith("#cite:")) {
      event.preventDefault();
      const box = document.querySelector("#goto textarea, #goto input");
      if (!box) return;
      box.value = decodeURIComponent(href.slice(6)) + "|" + Date.now();
      box.dispatchEvent(new Event("input", {bubbles: true}));
      return;
    }
    if (href.startsWith("#n-") || href.startsWith("#c")) {
      const target = document.getElementById(href.slice(1));
      if (!target) return;
      event.preventDefault();
      if (href.startsWith("#n-")) {
        document.querySelectorAll(".plan-text section.selected").forEach((s) => s.classList.remove("selected"));
        if (target.tagName === "SECTION") target.classList.add("selected");
      }
      scrollInPane(target, "top");
      revealInPage(target);
    }
  }, true);

  // ---- Chinese labels for what Gradio labels in English --------------------------------------------

  // Gradio's own strings come from its zh-CN translation (app.py: ChineseUi, I18N); these few are
  // written into its components in English, whatever the language.
  const LABELS = {
    "chatbot conversation": "对话记录",
    "More tabs": "更多标签页",
    "Scroll down": "跳到最新回答",
    "Scroll to bottom": "跳到最新回答",
    "Gradio footer navigation": "页脚导航",
    "logo": "标志",
    "Loading response": "正在生成回答",
    "Click to upload or drop files": "点击上传或把文件拖到这里",
    "File upload": "上传文件",
  };
  const TEXTS = {"Loading content": "正在加载回答"};  // screen-reader-only text (.sr-only)
  // The progress line over a component while it works: "queue: 1/2 |", "processing |".
  const PROGRESS = [[/^queue: (\d+)\/(\d*) \|$/, "排队中 $1/$2 |"], [/^processing \|$/, "处理中 |"]];

  function retext(node) {
    for (const [pattern, chinese] of PROGRESS) {
      if (pattern.test(node.nodeValue)) { node.nodeValue = node.nodeValue.replace(pattern, chinese); return; }
    }
  }

  // Text nodes of a small added subtree (a progress line is a few words; an answer is not walked).
  function retextAll(root) {
    if (root.nodeType === 3) { retext(root); return; }
    if (root.nodeType !== 1 || (root.textContent || "").length > 200) return;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) retext(walker.currentNode);
  }
  const ROLES = {"bot": "回答：", "assistant": "回答：", "user": "问题："};
  const MESSAGE = /^(\w+)'s message: /;
  const ATTRIBUTES = ["aria-label", "title", "alt", "aria-roledescription", "placeholder"];

  function relabel(el) {
    for (const name of ATTRIBUTES) {
      const value = el.getAttribute(name);
      if (!value) continue;
      let fixed = LABELS[value];
      const message = MESSAGE.exec(value);
      if (message) fixed = messageLabel(el, ROLES[message[1]] || "消息：");
      if (fixed && fixed !== value) el.setAttribute(name, fixed);
    }
  }

  // "bot's message: <div class=…>" becomes "回答：" and the message's text (its first 500 characters).
  function messageLabel(el, role) {
    el.dataset.role = role;
    return role + (el.innerText || el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 500);
  }

  // Gradio labels a message before its content is in: labelled again once a frame, as it changes.
  function relabelMessages() {
    document.querySelectorAll("#chatbot [data-role][aria-label]").forEach((el) => {
      const fixed = messageLabel(el, el.dataset.role);
      if (el.getAttribute("aria-label") !== fixed) el.setAttribute("aria-label", fixed);
    });
  }

  function relabelAll(root) {
    if (root.nodeType !== 1) return;
    relabel(root);
    const selector = ATTRIBUTES.map((a) => `[${a}]`).join(",");
    root.querySelectorAll(selector).forEach(relabel);
    for (const el of [root, ...root.querySelectorAll(".sr-only")]) {
      const fixed = el.classList.contains("sr-only") && TEXTS[el.textContent.trim()];
      if (fixed) el.textContent = fixed;
    }
  }

  let pending = false;
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") relabel(r.target);
      else if (r.type === "characterData") retext(r.target);
      else r.addedNodes.forEach((n) => { relabelAll(n); retextAll(n); });
    }
    if (!pending) {  // the chat is looked at once a frame, however many nodes changed
      pending = true;
      requestAnimationFrame(() => { pending = false; relabelMessages(); onMessages(); });
    }
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ATTRIBUTES});
})();
