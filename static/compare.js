// compare.js: reads each frame's own navigation and paint timings (the frames
// are same-origin) and writes them under it, as text and as data attributes
// (data-ttfb, data-fcp, data-complete on the figure) for tests and tools.
"use strict";

function frameTimings(frame) {
  let w;
  try {
    w = frame.contentWindow;
  } catch (e) {
    return null;
  }
  if (!w || w.location.href === "about:blank") return null;
  const nav = w.performance.getEntriesByType("navigation")[0];
  if (!nav) return null;
  const fcp = w.performance.getEntriesByName("first-contentful-paint")[0];
  return {
    ttfb: nav.responseStart > 0 ? nav.responseStart : null,
    fcp: fcp ? fcp.startTime : null,
    complete: nav.responseEnd > 0 && w.document.readyState === "complete" ? nav.responseEnd : null,
  };
}

function update() {
  let pending = 0;
  for (const figure of document.querySelectorAll("figure[data-frame]")) {
    const t = frameTimings(figure.querySelector("iframe"));
    for (const metric of ["ttfb", "fcp", "complete"]) {
      const value = t && t[metric];
      const cell = figure.querySelector(`[data-metric="${metric}"]`);
      if (value == null) {
        pending++;
        continue;
      }
      const ms = Math.round(value);
      cell.textContent = `${ms} ms`;
      figure.dataset[metric] = String(value);
    }
  }
  return pending;
}

let timer = null;
function watch() {
  clearInterval(timer);
  timer = setInterval(() => {
    if (update() === 0) clearInterval(timer);
  }, 50);
}

document.getElementById("reload").addEventListener("click", () => {
  for (const figure of document.querySelectorAll("figure[data-frame]")) {
    for (const metric of ["ttfb", "fcp", "complete"]) {
      delete figure.dataset[metric];
      figure.querySelector(`[data-metric="${metric}"]`).textContent = "…";
    }
    const frame = figure.querySelector("iframe");
    const url = new URL(frame.src, location.href);
    url.searchParams.set("t", Date.now());
    frame.src = url.pathname + url.search;
  }
  watch();
});

watch();
