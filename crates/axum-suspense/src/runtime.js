// The client runtime of the stream mode: the readable source of
// `runtime.min.js`, which is what the engine sends. `scripts/runtime/build`
// makes it with terser; `scripts/runtime/build --check` (run by
// `scripts/test`) fails when the two differ. Written for ES2021 (`||=`,
// `?.`, arrow functions): Chrome 85, Firefox 79, Safari 14 (all 2020) and
// later. Kept under 1.1 KiB minified (wire.rs tests it): every page for a
// browser that does not patch natively carries it inline.
//
// The parts arrive on the HTML standard's wire (see wire.rs): each
// placeholder in the shell is a range `<?start name="bI">FALLBACK<?end>`,
// and each part arrives as `<template for="bI">CONTENT</template>` followed
// at once by its stamp `<?s bI MS [p=J] [o=OUTCOME] [n=NAME]>` (when the
// server had it ready, its parent, how it ended, its name; the fields after
// the time in any order).
//
// - A browser that patches natively (Chromium >= 150) has already replaced
//   the range when this sees the stamp: this only observes, records the
//   times and dispatches the event. It never applies a part.
// - Elsewhere the markers are comments (or processing instructions the
//   parser does not act on) and the templates stay inert: this is the
//   polyfill. It applies a template when its stamp arrives (so the template
//   is complete), in document order, so a parent always goes before its
//   child.
//
// It records on `self.__suspense[I]`: s (server ready, ms from the page's
// start on the server), r (revealed, performance.now()), o ("error" or
// "timeout"), n (the boundary's name), p and f (for a nested boundary: its
// parent, and when its fallback appeared: the parent's reveal). It
// dispatches `suspense:reveal` on the document with detail {id, name,
// nodes, parent, data}. Natively nodes is [parent]: the parser does not say
// which nodes it inserted. data is the part's data, parsed (null if it has
// none): the `<script type="application/json" data-part="bI">` that comes
// first in a part with data. (`islands.js` builds `suspense.on` on this.)
(() => {
  let d = document,
    R = (self.__suspense ||= {}),
    // Pending ranges by id: [start marker, the node it is in, end marker].
    P = {},
    // The range whose start was seen last, until its end.
    last,
    O;

  // The text of a marker: `<?x y>` is a processing instruction (target x,
  // data y) where the parser makes them, a comment "?x y" elsewhere.
  let text = (n) => (n.target ? "?" + n.target + " " + n.data : n.data);

  // Takes in the markers under `root`, in document order: records each
  // range (its end only if it is beside its start: broken markup can move
  // it), and handles each stamp. A node iterator, unlike a tree walker,
  // goes on from a node that is taken out. (A walk of a 16,000-element
  // document takes 0.5 ms in Chromium on a desktop.)
  let walk = (root) => {
    for (let it = d.createNodeIterator(root, 192), n, m; (n = it.nextNode()); ) {
      m = /^\?(start name="b(\d+)"|end\b|s b(\d+) (\S+)(.*))/.exec(text(n)) || [];
      m[2]
        ? (last = P[m[2]] = [n, n.parentNode])
        : m[3]
          ? stamp(n, m)
          : m[1] && last?.[1] == n.parentNode && (last[2] = n);
    }
  };

  // A stamp `m`: records it, takes it out, and puts the part in (or sees
  // that the parser did).
  let stamp = (n, [, , , i, s, fields]) => {
    let x = (R[i] ||= {}),
      // Natively the template never enters the document.
      t = d.querySelector(`template[for=b${i}]`),
      // A range not seen: the parser put the part in before the runtime
      // came, somewhere in the body.
      [b, parent, e] = P[i] || [{}, d.body],
      nodes = [parent];
    x.s = +s;
    fields.replace(/ ([pon])=(\S+)/g, (_, k, v) => {
      x[k] = k == "p" ? ((x.f = R[v]?.r), +v) : v;
    });
    n.remove();
    // What the runtime found.
    if ((R.$.native = !t)) {
      // Not replaced, by anyone: the fallback stays.
      if (b.isConnected) return;
    } else {
      // The polyfill: the template replaces its range. If broken markup
      // moved the end marker away from the start, the fallback stays
      // rather than what follows it go.
      t.remove();
      if (!(parent = b.parentNode)) return;
      while (e && (n = b.nextSibling) != e) n.remove();
      e?.remove();
      // The ranges the part brings.
      walk((t = t.content));
      nodes = [...t.childNodes];
      b.replaceWith(t);
    }
    x.r = performance.now();
    // The part's data, if it has any: its first node, in the document now
    // on both paths (wire.rs `push_data`).
    t = d.querySelector(`script[data-part=b${i}]`);
    d.dispatchEvent(
      new CustomEvent("suspense:reveal", {
        detail: { id: +i, name: x.n || null, nodes, parent, data: t ? JSON.parse(t.text) : null },
      }),
    );
  };

  // Takes in the document as it grows: all of it, each time the parser has
  // added to the body (a nested range comes inside its parent's content,
  // wherever that went). Once the document is parsed, stops watching: at
  // the latest, at the first change to the body after that.
  let scan = () => {
    walk(d);
    d.readyState == "loading" || O.disconnect();
  };

  // Leave no script behind (this one, inline or linked).
  d.currentScript?.remove();
  if (R.$) return;
  // Not enumerable, so a loop over the boundaries does not meet it.
  Object.defineProperty(R, "$", { value: {} });
  (O = new MutationObserver(scan)).observe(d.body, { childList: true });
  scan();
})();
