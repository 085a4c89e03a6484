// The `?debug=1` overlay: a waterfall of the page's boundaries.
//
// Sent once, right after the shell, so it runs while the page is still
// loading. It reads what the runtime records on `window.__suspense`
// (see wire.rs) and redraws until the page has loaded. One row per boundary:
//   grey   from navigation start until its fallback entered the document,
//   amber  while its fallback showed,
//   green  from when its content was revealed,
//   blue   tick: when the server had its data ready (request start + s).
// A row is labelled by the boundary's name if it has one (`n`), else by its
// id (#I); a nested one also shows its parent's. Each row carries its
// numbers as data attributes (data-id, data-name, data-server,
// data-fallback, data-revealed, data-outcome) for tests and tools.
(function () {
  var d = document;
  // The page's Content-Security-Policy nonce, for the overlay's <style>.
  var nonce = (d.currentScript && d.currentScript.nonce) || "";
  var R = self.__suspense || (self.__suspense = {});
  // Every placeholder in the document now came with the shell.
  var shellAt = performance.now();
  // Each is a start marker `<?start name="bI">`: a processing instruction,
  // or a comment where the parser has none.
  var w = d.createTreeWalker(d, 192), n, m;
  while ((n = w.nextNode())) {
    m = n.nodeType == 7 ? n.target == "start" && n.data : /^\?start /.test(n.data) && n.data.slice(7);
    m = m && /^name="b(\d+)"$/.exec(m);
    if (m && !R[m[1]]) R[m[1]] = { f: shellAt };
  }

  var host = d.createElement("div");
  host.id = "suspense-debug";
  // Through the CSSOM, which a policy without 'unsafe-inline' allows (a
  // style attribute it would block).
  host.style.cssText = "all:initial;position:fixed;right:8px;bottom:8px;z-index:2147483647";
  var root = host.attachShadow({ mode: "open" });
  var style = d.createElement("style");
  style.nonce = nonce;
  style.textContent =
    ".p{font:11px/1.35 ui-monospace,Menlo,Consolas,monospace;color:#e8e8ee;background:rgba(22,22,30,.93);" +
    "border-radius:6px;padding:6px 8px 5px;width:526px;box-shadow:0 2px 10px rgba(0,0,0,.35)}" +
    ".h{display:flex;gap:6px;align-items:baseline;margin-bottom:4px}.h b{color:#fff}.h .s{flex:1;color:#aab}" +
    "button{all:unset;cursor:pointer;color:#aab;padding:0 3px}button:hover{color:#fff}" +
    ".r{display:grid;grid-template-columns:96px 1fr 172px;gap:6px;align-items:center;height:14px}" +
    ".l{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".t{position:relative;height:8px;background:rgba(255,255,255,.06);border-radius:2px}" +
    ".t span{position:absolute;top:0;bottom:0}.w{background:#555a66}.f{background:#f5a623}" +
    ".c{background:#3ecf8e}.x{background:#e5534b}.v{width:2px;top:-2px!important;bottom:-2px!important;background:#4aa3ff}" +
    ".n{color:#ccd;text-align:right;white-space:nowrap}.k{color:#889;margin-top:3px}" +
    ".k i{display:inline-block;width:8px;height:8px;margin:0 3px 0 8px;vertical-align:-1px}" +
    ".rows{max-height:45vh;overflow-y:auto;overflow-x:hidden;padding:2px 0}";
  root.innerHTML =
    "<div class=p><div class=h><b>suspense-ssr</b><span class=s></span>" +
    "<button class=m title='fold'>&minus;</button><button class=q title='close'>&times;</button></div>" +
    "<div class=rows></div><div class=k><i class=f></i>fallback<i class=c></i>content" +
    "<i class=v></i>server ready<i class=x></i>failed</div></div>";
  root.prepend(style);
  d.documentElement.appendChild(host);
  var rows = root.querySelector(".rows");
  var sum = root.querySelector(".s");
  root.querySelector(".q").onclick = function () {
    host.remove();
  };
  root.querySelector(".m").onclick = function () {
    rows.hidden = !rows.hidden;
    root.querySelector(".k").hidden = rows.hidden;
  };

  // What a row calls boundary `k`: its name, or #k.
  function called(k) {
    return (R[k] && R[k].n) || "#" + k;
  }
  function ms(v) {
    return v == null ? "–" : Math.round(v) + "";
  }
  function bar(track, cls, from, to, scale) {
    if (from == null || to == null || to < from) return;
    var s = d.createElement("span");
    s.className = cls;
    s.style.left = from * scale + "%";
    s.style.width = Math.max((to - from) * scale, 0.4) + "%";
    track.appendChild(s);
  }

  function draw() {
    var nav = performance.getEntriesByType("navigation")[0] || {};
    var req = nav.requestStart || 0;
    var loaded = d.readyState == "complete";
    var now = performance.now();
    var ids = Object.keys(R).sort(function (a, b) {
      return a - b;
    });
    var end = 1;
    ids.forEach(function (k) {
      var x = R[k];
      end = Math.max(end, x.f || 0, x.r || 0, x.s == null ? 0 : req + x.s);
    });
    if (!loaded) end = Math.max(end, now);
    end *= 1.04;
    var scale = 100 / end;
    var done = 0;
    rows.textContent = "";
    ids.forEach(function (k) {
      var x = R[k];
      var row = d.createElement("div");
      row.className = "r";
      row.dataset.id = k;
      if (x.n) row.dataset.name = x.n;
      if (x.s != null) row.dataset.server = x.s;
      if (x.f != null) row.dataset.fallback = x.f;
      if (x.r != null) row.dataset.revealed = x.r;
      if (x.o) row.dataset.outcome = x.o;
      if (x.r != null) done++;
      var label = d.createElement("span");
      label.className = "l";
      label.textContent = called(k) + (x.p != null ? "\u21b3" + ((R[x.p] && R[x.p].n) || x.p) : "");
      label.title =
        (x.n ? x.n + " (boundary " + k + ")" : "boundary " + k) +
        (x.p != null ? ", inside " + called(x.p) : ", in the shell");
      var track = d.createElement("div");
      track.className = "t";
      bar(track, "w", 0, x.f, scale);
      bar(track, "f", x.f, x.r == null ? (loaded ? end : now) : x.r, scale);
      bar(track, x.o ? "x" : "c", x.r, end, scale);
      if (x.s != null) {
        var v = d.createElement("span");
        v.className = "v";
        v.style.left = (req + x.s) * scale + "%";
        track.appendChild(v);
      }
      var n = d.createElement("span");
      n.className = "n";
      n.textContent = "srv " + ms(x.s) + " \u00b7 shown " + ms(x.r) + " ms";
      n.title =
        "server had the data " + ms(x.s) + " ms after the request; fallback in the document at " +
        ms(x.f) + " ms; content revealed at " + ms(x.r) + " ms (0 = navigation start)" +
        (x.o ? "; outcome: " + x.o : "");
      row.append(label, track, n);
      rows.appendChild(row);
    });
    sum.textContent =
      done + "/" + ids.length + " revealed \u00b7 shell " + ms(nav.responseStart) + " ms" +
      (loaded ? " \u00b7 end " + ms(nav.responseEnd) + " ms" : " \u00b7 streaming\u2026");
    host.dataset.state = loaded ? "done" : "streaming";
  }

  draw();
  var timer = setInterval(draw, 100);
  addEventListener("load", function () {
    clearInterval(timer);
    // responseEnd is set by now.
    setTimeout(draw, 0);
  });
})();
