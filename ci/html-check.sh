#!/usr/bin/env bash
# Renders a real run as an HTML timeline (`sim replay --html`) and checks it
# in headless Chromium: the page is self-contained, its script drew a lane per
# node, and the screenshot is a picture rather than a blank page.
#
# Environment:
#   SEED=1 PROFILE=chaos    the run to render
#   OUT=<temp dir>          where timeline.html, dom.html and timeline.png go
#   CHROMIUM=<binary>       the browser (default: chromium, chromium-browser, google-chrome)
#   REQUIRE_CHROMIUM=1      fail, instead of skipping, when there is no browser
set -euo pipefail
cd "$(dirname "$0")/.."

SEED="${SEED:-1}"
PROFILE="${PROFILE:-chaos}"
step() { printf '\n== %s\n' "$*"; }
fail() {
	echo "ci/html-check.sh: FAIL: $*" >&2
	exit 1
}

CHROMIUM="${CHROMIUM:-}"
if [ -z "$CHROMIUM" ]; then
	for candidate in chromium chromium-browser google-chrome; do
		if command -v "$candidate" >/dev/null 2>&1; then
			CHROMIUM="$candidate"
			break
		fi
	done
fi
if [ -z "$CHROMIUM" ]; then
	echo "ci/html-check.sh: no chromium found; install it with: apt-get install -y chromium" >&2
	if [ "${REQUIRE_CHROMIUM:-0}" = 1 ]; then
		fail "REQUIRE_CHROMIUM=1 and no chromium"
	fi
	echo "SKIP: ci/html-check.sh (chromium not installed)"
	exit 0
fi

# Made only now: a skipped check leaves nothing behind.
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sim-html.XXXXXX")}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)" # absolute, for the file:// URL

step "cargo build --release -p sim"
cargo build --release -p sim

HTML="$OUT/timeline.html"
PNG="$OUT/timeline.png"
DOM="$OUT/dom.html"
rm -f "$HTML" "$PNG" "$DOM"

step "sim replay --seed $SEED --profile $PROFILE --html $HTML"
# A failing run exits 1 and is still drawn (that is when the picture matters).
rc=0
"${CARGO_TARGET_DIR:-target}/release/sim" replay --seed "$SEED" --profile "$PROFILE" --html "$HTML" >"$OUT/replay.txt" || rc=$?
tail -n 5 "$OUT/replay.txt"
[ "$rc" -le 1 ] || fail "sim replay exited $rc"
[ -s "$HTML" ] || fail "no HTML written to $HTML"
echo "html: $(wc -c <"$HTML") bytes"

step "self-contained"
if grep -Eiq 'https?://|src=|<link' "$HTML"; then
	grep -Eio '.{0,40}(https?://|src=|<link).{0,40}' "$HTML" | head -n 5 >&2
	fail "the page references something outside itself"
fi
echo "no external references"

CHROME_DIR="$(mktemp -d "${TMPDIR:-/tmp}/sim-html-chromium.XXXXXX")"
trap 'rm -rf "$CHROME_DIR"' EXIT
chrome() {
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$CHROME_DIR" --window-size=1600,900 "$@" 2>>"$OUT/chromium.log"
}

step "headless $CHROMIUM: the script draws the lanes"
chrome --dump-dom "file://$HTML" >"$DOM" || fail "chromium --dump-dom failed (see $OUT/chromium.log)"
count() { { grep -o "$1" "$DOM" || true; } | wc -l; }
labels=$(count 'id="lane-label-[0-9]*"')
lanes=$(count 'class="lane-bg"')
echo "lanes: $labels labelled, $lanes drawn"
[ "$labels" -gt 0 ] || fail "no lane labels in the page"
[ "$lanes" -eq "$labels" ] || fail "the script drew $lanes lanes for $labels nodes (did it throw?)"

step "headless $CHROMIUM: screenshot"
chrome --screenshot="$PNG" "file://$HTML" >/dev/null || fail "chromium --screenshot failed (see $OUT/chromium.log)"
[ -f "$PNG" ] || fail "no screenshot at $PNG"
size=$(wc -c <"$PNG")
echo "png: $size bytes"
[ "$size" -gt 20000 ] || fail "screenshot is only $size bytes: blank page?"

if command -v python3 >/dev/null 2>&1; then
	# Decode the PNG with zlib alone and count distinct colours: a picture
	# with lanes, leader colours and arrows has many, a blank page a handful.
	python3 - "$PNG" <<'EOF' || fail "the screenshot looks flat"
import struct, sys, zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, header = 8, [], None
while pos < len(data):
    (length,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat.append(body)
    pos += 12 + length
width, height, depth, colour, _, _, interlace = header
channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
if depth != 8 or interlace:
    print(f"png: {width}x{height}, depth {depth}, interlace {interlace}: colour count skipped")
    sys.exit(0)
bpp, stride = channels, width * channels
raw = zlib.decompress(b"".join(idat))
prev, colours = bytearray(stride), set()
for y in range(height):
    ftype, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = row[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if ftype == 1:
            row[i] = (row[i] + a) & 255
        elif ftype == 2:
            row[i] = (row[i] + b) & 255
        elif ftype == 3:
            row[i] = (row[i] + (a + b) // 2) & 255
        elif ftype == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 3 == 0:
        colours.update(bytes(row[i:i + channels]) for i in range(0, stride, channels))
    prev = row
print(f"png: {width}x{height}, {len(colours)} distinct colours")
sys.exit(0 if len(colours) >= 16 else 1)
EOF
fi

echo
echo "ci/html-check.sh: ok ($PNG)"
