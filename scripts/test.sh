#!/usr/bin/env bash
# Install everything the tests need, then run them: the whole suite on SQLite, and the database
# tests again on PostgreSQL. This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${CAMERA_OPS_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Debian packages: ffmpeg/ffprobe (independent check of clips), chromium (browser tests),
missing=()
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)  # network namespaces: multicast WS-Discovery test
# Debian's GStreamer RTSP server (a camera we did not write; x264enc is in plugins-ugly), for /usr/bin/python3
/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer" \
  >/dev/null 2>&1 || missing+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== test suite on SQLite =="
python3 -m pytest -q -p no:cacheprovider "$@"

echo "== database tests on PostgreSQL ($PG_URL) =="
if python3 - "$PG_URL" <<'PY'
import sys
import sqlalchemy as sa
try:
    sa.create_engine(sys.argv[1]).connect().close()
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc.__class__.__name__}")
    sys.exit(1)
PY
then
  CAMERA_OPS_TEST_DATABASE_URL="$PG_URL" python3 -m pytest -q -p no:cacheprovider -m db "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs PostgreSQL at $PG_URL" >&2
  exit 1
else
  echo "skipped: no PostgreSQL at $PG_URL (set CAMERA_OPS_TEST_PG_URL)"
fi
