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

# The two passes run side by side, each on two pytest-xdist workers (whole files per worker; on
# PostgreSQL a database each, test_gw0 and test_gw1 beside the one named): the tests wait on sockets
# and timers much of the time (one pytest process left 75 % of 2 cores idle), so four processes keep
# the cores busy; one pass after the other took 18 minutes. Each line of output
# carries its pass's name; each pass's summary is repeated at the end.
mkdir -p test-artifacts
pg_ok=0
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
  pg_ok=1
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs PostgreSQL at $PG_URL" >&2
  exit 1
fi

run_pass() {  # name, then the command; output prefixed with the name, also kept in test-artifacts/<name>.log
  local name=$1; shift
  set +e
  PYTHONUNBUFFERED=1 "$@" 2>&1 | tee "test-artifacts/$name.log" | sed -u "s/^/[$name] /"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}

echo "== test suite on SQLite, and the database tests on PostgreSQL ($PG_URL), side by side =="
run_pass sqlite python3 -m pytest -q -p no:cacheprovider --durations=15 -n 2 --dist loadfile "$@" &
sqlite_pid=$!
pg_rc=0
if [ "$pg_ok" = 1 ]; then
  CAMERA_OPS_TEST_DATABASE_URL="$PG_URL" run_pass postgresql python3 -m pytest -q -p no:cacheprovider --durations=15 -n 2 --dist loadfile -m db "$@" &
  pg_pid=$!
  wait "$pg_pid" || pg_rc=$?
else
  echo "skipped: no PostgreSQL at $PG_URL (set CAMERA_OPS_TEST_PG_URL)"
fi
sqlite_rc=0
wait "$sqlite_pid" || sqlite_rc=$?

echo "== summary =="
echo "SQLite:     $(tail -n 1 test-artifacts/sqlite.log) (exit $sqlite_rc)"
[ "$pg_ok" = 1 ] && echo "PostgreSQL: $(tail -n 1 test-artifacts/postgresql.log) (exit $pg_rc)"
[ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
