// board.js: the board's forms, enhanced as soon as their part of the page is
// revealed: our version of React 18's selective hydration.
//
// With streaming, DOMContentLoaded fires only once the whole page is in, so
// nothing here waits for it. The engine's runtime announces each revealed
// boundary with a `suspense:reveal` event on the document (detail: the
// boundary's id, the revealed nodes and their parent); this script, loaded
// async, enhances whatever is in the document when it runs and again on
// every reveal. Until a part is enhanced, its forms work as plain forms
// (post, redirect, reload), which is also what happens without JavaScript.
"use strict";
(function () {
  function enhanced(el) {
    if (el.dataset.enhanced) return true;
    el.dataset.enhanced = "1";
    return false;
  }

  function post(form, body) {
    return fetch(form.action, {
      method: "POST",
      body: body,
      headers: { "X-Enhanced": "1" },
      credentials: "same-origin",
    });
  }

  function enhanceLike(form) {
    if (enhanced(form)) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const response = await post(form, new URLSearchParams());
        if (!response.ok) throw new Error(response.status);
        form.querySelector(".likes").textContent = await response.text();
        form.dataset.liked = "1";
      } catch (e) {
        form.submit(); // the plain way
      }
    });
  }

  function enhanceCommentForm(form, list) {
    if (enhanced(form)) return;
    const problem = form.querySelector(".form-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const response = await post(form, new URLSearchParams(new FormData(form)));
        if (response.status === 201) {
          list.insertAdjacentHTML("beforeend", await response.text());
          const added = list.lastElementChild;
          enhance(added);
          form.querySelector("textarea").value = "";
          form.querySelectorAll(".error").forEach((e) => (e.hidden = true));
          const count = document.querySelector(".post .count");
          if (count) count.textContent = String(Number(count.textContent) + 1);
          const none = list.parentNode.querySelector(".none");
          if (none) none.remove();
          added.scrollIntoView({ block: "nearest" });
        } else if (response.status === 422 || response.status === 503) {
          // Not saved (invalid, or the database is away): say why, keep
          // what the user wrote.
          problem.textContent = await response.text();
          problem.hidden = false;
        } else {
          throw new Error(response.status);
        }
      } catch (e) {
        form.submit();
      } finally {
        button.disabled = false;
      }
    });
  }

  function enhance(root) {
    if (!root.querySelectorAll) return;
    const likes = [...root.querySelectorAll("form.like")];
    if (root.matches && root.matches("form.like")) likes.push(root);
    likes.forEach(enhanceLike);
    // The comment form is in the shell; it is enhanced once the list it
    // adds to has been revealed.
    const list = document.querySelector("[data-comments]");
    const form = document.getElementById("comment-form");
    if (list && form) enhanceCommentForm(form, list);
  }

  // The comments island: each comment's time comes with the part's data
  // (the page itself does not show it), written beside each comment as
  // "5 minutes ago" and kept current. `suspense.on` (the engine's islands
  // module) runs it once the part is in, whether the part came before or
  // after this script, natively patched or by the polyfill, and on the
  // in-order page too. Without JavaScript the comments read as they are.
  function commentTimes(list, [serverNow, times]) {
    if (!list) return; // the part has no element of its own
    const skew = Date.now() / 1000 - serverNow;
    const stamps = [];
    for (const [id, at] of times) {
      const by = list.querySelector("#c" + id + " .by");
      if (!by) continue;
      const time = document.createElement("time");
      time.dateTime = new Date(at * 1000).toISOString();
      by.append(" · ", time);
      stamps.push([time, at + skew]);
    }
    const tick = () => {
      for (const [time, at] of stamps) time.textContent = ago(Date.now() / 1000 - at);
    };
    tick();
    setInterval(tick, 30000);
    list.dataset.island = "times";
  }

  function ago(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return "just now";
    for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) {
      const n = Math.floor(s / size);
      if (n >= 1) return n + " " + unit + (n > 1 ? "s" : "") + " ago";
    }
  }

  // The islands module loads async, like this script, and either may run
  // first (this one is cached for good, and is in the head before the
  // module's tag): queued on `suspense.q`, which the module drains when it
  // loads and which registers at once after that.
  ((self.suspense ||= {}).q ||= []).push(["comments", commentTimes]);

  document.addEventListener("suspense:reveal", (event) => {
    for (const node of event.detail.nodes) enhance(node);
    enhance(document.body || document);
  });
  enhance(document);
  document.addEventListener("DOMContentLoaded", () => enhance(document));
})();
