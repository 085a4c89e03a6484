#!/usr/bin/env python3
"""Write the benchmark page (benches/PAGE.md) fully rendered, every
section already in place and no streaming markers, as a static HTML file.

  gen_static.py OUT.html [--boundaries 3] [--items 20]
"""
import argparse
import html

TEXT = "Tom & Jerry <say> \"hi\" & 'bye'"


def escape(s: str) -> str:
    # Same entities as React's escapeTextForBrowser: &amp; &lt; &gt; &quot; &#x27;
    return html.escape(s, quote=True)


def render(n: int, k: int) -> str:
    text = escape(TEXT)
    out = [
        "<!DOCTYPE html>"
        '<html lang="en"><head><meta charset="utf-8"><title>Bench</title>'
        '<link rel="stylesheet" href="/static/bench.css"></head><body>'
        "<header><h1>Bench</h1></header><main>"
    ]
    for i in range(n):
        out.append('<section id="s%d"><h2>Section %d</h2><ul>' % (i, i))
        for j in range(k):
            out.append("<li>Item %d.%d: <b>%s</b></li>" % (i, j, text))
        out.append("</ul></section>")
    out.append("</main><footer>end of page</footer></body></html>")
    return "".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out")
    p.add_argument("--boundaries", type=int, default=3)
    p.add_argument("--items", type=int, default=20)
    a = p.parse_args()
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(render(a.boundaries, a.items))


if __name__ == "__main__":
    main()
