#!/usr/bin/env bash
# The market report in a real browser: builds the page from the bundled sample, opens it in headless
# Chromium, checks that the script drew every chart (the DOM after it ran) and takes a screenshot.
# Usage: scripts/report_check.sh [path to the earshot binary] (default target/debug/earshot)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/earshot}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "report check: no Chromium (scripts/test.sh installs Debian's chromium)" >&2
  exit 1
fi
out=target/report-check
rm -rf "$out" && mkdir -p "$out"
"$bin" file samples/stream.jsonl --links samples/links.jsonl --output "$out/insights.jsonl" \
  --customer-insights "$out/customers.jsonl" --dead-letters "$out/dead.jsonl" 2>/dev/null
"$bin" report "$out/insights.jsonl" "$out/customers.jsonl" -o "$out/report.html"
page="file://$PWD/$out/report.html"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions)
timeout 120 "$browser" "${flags[@]}" --virtual-time-budget=5000 --dump-dom "$page" \
  >"$out/dom.html" 2>"$out/browser.log"
timeout 120 "$browser" "${flags[@]}" --window-size=1400,2600 --screenshot="$out/report.png" "$page" \
  >>"$out/browser.log" 2>&1
python3 - "$out" <<'PY'
import re, struct, sys, zlib
out = sys.argv[1]
dom = open(f"{out}/dom.html", encoding="utf-8").read()
fails = []
state = re.search(r'<body[^>]*data-rendered="([a-z]+)"', dom)
if not state or state.group(1) != "ok":
    err = re.search(r'data-error="([^"]*)"', dom)
    fails.append(f"the script did not finish: {state.group(1) if state else 'no body'} {err.group(1) if err else ''}")
def chart(name):
    m = re.search(rf'data-chart="{name}">(.*?)</div>', dom, re.S)
    return m.group(1) if m else ""
counts = {
    "volume lines": len(re.findall(r'class="series"', chart("volume"))),
    "net sentiment lines": len(re.findall(r'class="series"', chart("net"))),
    "share of voice bars": len(re.findall(r'class="bar"', chart("sov"))),
    "emotion bars": len(re.findall(r'class="bar"', chart("emotions"))),
    "theme rows": len(re.findall(r"<tr>", dom.split('id="themes"', 1)[-1].split("</section>", 1)[0])),
    "customer rows": len(re.findall(r"<tr>", dom.split('id="customers"', 1)[-1].split("</section>", 1)[0])),
}
for name, n in counts.items():
    if n < 2:
        fails.append(f"{name}: {n}")
# The screenshot: a PNG of the requested size, not one colour.
png = open(f"{out}/report.png", "rb").read()
if png[:8] != b"\x89PNG\r\n\x1a\n":
    fails.append("the screenshot is not a PNG")
else:
    width, height = struct.unpack(">II", png[16:24])
    chunks, i = b"", 8
    while i < len(png):
        n, kind = struct.unpack(">I4s", png[i:i + 8])
        if kind == b"IDAT":
            chunks += png[i + 8:i + 8 + n]
        i += 12 + n
    raw = zlib.decompress(chunks)
    colours = len(set(raw[j:j + 3] for j in range(0, len(raw), 3 * 97)))
    if (width, height) != (1400, 2600) or colours < 20:
        fails.append(f"screenshot {width}x{height} with {colours} colours sampled")
print("report check: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f"; screenshot {out}/report.png")
if fails:
    print("report check FAILED: " + "; ".join(fails), file=sys.stderr)
    sys.exit(1)
PY
