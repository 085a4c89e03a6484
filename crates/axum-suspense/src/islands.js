// The islands module: `suspense.on(name, (element, data) => …)`, which runs
// once for every part named `name` that carries data, whether the part came
// before or after the call, in every render mode. The readable source of
// `islands.min.js` (`scripts/runtime/build`), served as an immutable file by
// `client::runtime_router` and linked by the page
// (`<script src="…" async>`): a page that does not use it pays nothing.
//
// A part with data (`suspend_with_data`) starts with
// `<script type="application/json" data-part="bI" [data-name="NAME"]
// [data-no-element]>` (wire.rs `push_data`). `element` is the element after
// it: the part's own first element, or null when the part does not start
// with an element (it starts with text, a nested part, or is empty: the
// engine marks it `data-no-element`), so never an element outside the part
// (the next part's, or its container). Give an island one root element.
// `data` is the parsed JSON.
//
// Registering before this module has loaded (it loads async, and a page's
// own script may run first): push `[name, callback]` on `suspense.q`,
//   ((self.suspense ||= {}).q ||= []).push(["votes", (element, data) => …]);
// This module drains that queue when it loads, and then makes `q.push` call
// `on` at once: the same line works whichever script runs first.
//
// When a part counts as arrived:
// - streamed (the runtime is on the page): when the runtime has revealed it,
//   natively or by its polyfill: its `suspense:reveal` event, or, for the
//   parts revealed before this module loaded, its record in
//   `self.__suspense` (`r`, the reveal time). A part whose content the
//   parser is still inserting is never taken early.
// - in-order and buffered pages (no runtime, no events): once the document
//   is parsed (`DOMContentLoaded`), every part with data, in document order.
//
// Order: a callback runs for parts in the order they arrived; a parent's
// data comes before its children's (a nested part arrives after its
// parent, and its data element is after its parent's in the document). A
// callback registered later runs at once for the parts already in, in that
// order. Each part's callbacks run once (the element is marked).
(() => {
  let d = document,
    S = (self.suspense ||= {}),
    // Callbacks by name; the parts taken in so far: [name, element, data].
    H = {},
    L = [],
    // What the page queued before this module came.
    q = S.q;
  // Loaded twice: the first one serves. (A page's own stub `on` or `q` is
  // replaced: only this module's `on` carries the mark.)
  if (S.on?.$) return;

  // Takes in a data element once (its data parsed, or given by the event).
  let take = (j, data) => {
    if (j.$t) return;
    j.$t = 1;
    let p = [
      j.dataset.name,
      j.hasAttribute("data-no-element") ? null : j.nextElementSibling,
      data ?? JSON.parse(j.text),
    ];
    L.push(p);
    for (let f of H[p[0]] || []) f(p[1], p[2]);
  };

  // The data elements in the document that have arrived (see above).
  let scan = () => {
    for (let j of d.querySelectorAll("script[data-part]"))
      (d.readyState != "loading" || self.__suspense?.[j.dataset.part.slice(1)]?.r != null) && take(j);
  };

  (S.on = (name, f) => {
    (H[name] ||= []).push(f);
    for (let [n, e, v] of L) n == name && f(e, v);
  }).$ = 1;
  S.q = { push: (...a) => a.map(([n, f]) => S.on(n, f)) };
  S.q.push(...(q || []));

  d.addEventListener("suspense:reveal", (e) => {
    let j = d.querySelector(`script[data-part=b${e.detail.id}]`);
    j && take(j, e.detail.data);
  });
  d.addEventListener("DOMContentLoaded", scan);
  scan();
})();
