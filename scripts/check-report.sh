#!/usr/bin/env bash
# Looks at a verify report as a person would: renders DIR/report.html in
# headless Chromium, takes a screenshot (DIR/report.png, or the path given),
# and checks the rendered page: a verdict, the invariant matrix with a row
# per invariant, and at least one drawing (a plot, or a counterexample's
# sequence diagram).
#
#   scripts/check-report.sh DIR [SCREENSHOT.png]
#
# Needs Debian's chromium (`apt-get install chromium`); exits 2 without it,
# 1 if the page lacks what it must show.
set -euo pipefail
dir="${1:?usage: $0 DIR [SCREENSHOT.png]}"
shot="${2:-$dir/report.png}"
page="$(cd "$dir" && pwd)/report.html"
[ -f "$page" ] || { echo "no $page" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files)
"$browser" "${flags[@]}" --window-size=1280,1500 --screenshot="$shot" "file://$page" 2>/dev/null
dom=$("$browser" "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)
fail=0
check() { if grep -q "$2" <<<"$dom"; then echo "ok: $1"; else echo "MISSING: $1" >&2; fail=1; fi; }
check "the verdict" 'id="verdict"'
check "the invariant matrix" 'class="verdicts"'
check "a row for LOCK-1" '<b>LOCK-1</b>'
check "a drawing (plot or sequence diagram)" '<svg'
[ -s "$shot" ] && echo "screenshot: $shot ($(stat -c %s "$shot") bytes)" || { echo "no screenshot" >&2; fail=1; }
exit "$fail"
