// The client runtime of the stream mode. The parts arrive on the HTML
// standard's wire: each placeholder in the shell is a range
// `<?start name="bI">FALLBACK<?end>`, and each part arrives as
// `<template for="bI">CONTENT</template>` followed by `<?s bI MS [p=J]
// [o=OUTCOME]>` (when the server had it ready, its parent, how it ended).
//
// - A browser that patches natively (Chromium >= 150) has already replaced
//   the range when this sees the `<?s …>` after it: this only observes,
//   records the times and dispatches the event. It never applies a part.
// - Elsewhere (the markers are comments, or processing instructions the
//   parser does not act on, and the templates stay inert) this is the
//   polyfill: it applies each template once it is complete (its `<?s …>` has
//   arrived), in document order, so a parent always goes before its child.
//
// It records on `self.__suspense[I]`: s (server ready, ms from the page's
// start on the server), r (revealed, performance.now()), o ("error" or
// "timeout"), p and f (for a nested boundary: its parent, and when its
// fallback appeared: the parent's reveal); and dispatches `suspense:reveal` on the document with
// detail {id, nodes, parent} (natively, nodes is [parent]: the parser does
// not say which nodes it inserted).
//
// Lines are joined when the engine serves this: every statement ends with
// a semicolon or a brace, and comments are whole lines.
(function () {
  var d = document, R = self.__suspense || (self.__suspense = {}), P = {}, T = [], native = false, O, m;
  // Leave no script behind (this one, inline or linked).
  d.currentScript && d.currentScript.remove();
  if (R.$) return;
  try {
    native = new DOMParser().parseFromString('<p><?start name="x">a<?end></p><template for="x">b</template>', "text/html").body.textContent == "b";
  } catch (e) {}
  Object.defineProperty(R, "$", { value: { native: native } });
  // [target, data] of a processing instruction, or of the comment a parser
  // without them makes of `<?…>`; nothing for other nodes.
  function mark(n, s, i) {
    if (n.nodeType == 7) return [n.target, n.data];
    if (n.nodeType == 8 && (s = n.data).charAt(0) == "?") {
      s = s.slice(1);
      i = s.indexOf(" ");
      return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
    }
  }
  // The boundary id a start marker names, or null.
  function start(n, m) {
    m = mark(n);
    return m && m[0] == "start" && (m = /^name="b(\d+)"$/.exec(m[1])) ? m[1] : null;
  }
  // Finds the start markers under `root` (and their ends, among their
  // siblings, nesting counted).
  function index(root, w, n, e, i, k) {
    w = d.createTreeWalker(root, 192);
    while ((n = w.nextNode())) {
      if ((i = start(n)) == null || P[i]) continue;
      for (e = n.nextSibling, k = 0; e; e = e.nextSibling) {
        if (start(e) != null) k++;
        else if ((m = mark(e)) && m[0] == "end") {
          if (!k) break;
          k--;
        }
      }
      P[i] = { b: n, e: e, p: n.parentNode };
    }
  }
  // The boundary is in: its time, the event.
  function reveal(i, nodes, p, x) {
    x = R[i] || (R[i] = {});
    x.r = performance.now();
    delete P[i];
    d.dispatchEvent(new CustomEvent("suspense:reveal", { detail: { id: +i, nodes: nodes, parent: p } }));
  }
  // The polyfill: template T replaces its range.
  function apply(t, i, q, b, e, p, n, k) {
    i = /^b(\d+)$/.exec(t.getAttribute("for"));
    q = i && P[(i = i[1])];
    if (!q || !(p = (b = q.b).parentNode)) return t.remove();
    e = q.e;
    // If broken markup moved the end marker elsewhere, keep the fallback
    // rather than delete everything after the start marker.
    if (e && e.parentNode == p) {
      while ((n = b.nextSibling) != e) p.removeChild(n);
      p.removeChild(e);
    }
    index(t.content);
    k = [].slice.call(t.content.childNodes);
    p.replaceChild(t.content, b);
    t.remove();
    reveal(i, k, p);
  }
  // `<?s bI MS [p=J] [o=OUTCOME]>`: when the server had boundary I ready,
  // its parent, how it ended. Returns I, or null for other nodes.
  function stamp(n, x, i, a, j) {
    m = mark(n);
    if (!m || m[0] != "s") return null;
    a = m[1].split(" ");
    i = a[0].slice(1);
    x = R[i] || (R[i] = {});
    x.s = +a[1];
    for (j = 2; j < a.length; j++) {
      if (a[j].slice(0, 2) == "o=") x.o = a[j].slice(2);
      if (a[j].slice(0, 2) == "p=") {
        x.p = +a[j].slice(2);
        x.f = R[x.p] && R[x.p].r;
      }
    }
    n.remove();
    return i;
  }
  // Takes in what the parser added to the body, in order. A template is
  // complete once a node after it has come (the engine sends its `<?s …>`
  // right after it).
  function take(nodes, done, i, n, q, id) {
    for (i = 0; i < nodes.length; i++) {
      n = nodes[i];
      id = stamp(n);
      while (T.length) apply(T.shift());
      if (n.nodeName == "TEMPLATE" && n.hasAttribute("for")) T.push(n);
      // Natively the parser has already put it in: its range is gone.
      if (id != null && R[id].r == null) {
        q = P[id];
        if (q && !q.b.isConnected) {
          index(q.p);
          reveal(id, [q.p], q.p);
        } else if (!q) reveal(id, [], d.body);
      }
    }
    while (done && T.length) apply(T.shift());
  }
  index(d);
  take([].slice.call(d.body.childNodes), d.readyState != "loading");
  if (d.readyState == "loading") {
    O = new MutationObserver(function (l) {
      l.forEach(function (r) {
        take(r.addedNodes, false);
      });
    });
    O.observe(d.body, { childList: true });
    d.addEventListener("DOMContentLoaded", function () {
      O.takeRecords().forEach(function (r) {
        take(r.addedNodes, false);
      });
      O.disconnect();
      take([], true);
    });
  }
})();
