#!/usr/bin/env bash
# nginx static baseline for the benchmark page (benches/PAGE.md):
# serves a fully rendered copy of /bench (boundaries=3 items=20 by default,
# every section in place, no streaming markers) and /static/bench.css on
# 127.0.0.1:${PORT:-3002}. Query strings are ignored (it is one static file).
#
# Writes nginx.conf and the page into a fresh temp dir, then runs nginx in the
# foreground (daemon off; exec), so $! of a backgrounded start.sh is the nginx
# master PID; SIGTERM/SIGQUIT stops it. The temp dir is printed on start.
#   PORT=3002  BOUNDARIES=3  ITEMS=20  WORKERS=auto
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
PORT="${PORT:-3002}"
WORKERS="${WORKERS:-auto}"

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y nginx-light || apt-get install -y nginx
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

# remove docroots (older than a minute) of earlier runs whose nginx is gone
for old in $(find /tmp -maxdepth 1 -type d -name 'bench-nginx.*' -mmin +1); do
  if [ -f "$old/nginx.pid" ] && kill -0 "$(cat "$old/nginx.pid")" 2>/dev/null; then continue; fi
  rm -rf "$old"
done
dir="$(mktemp -d /tmp/bench-nginx.XXXXXX)"
mkdir -p "$dir/root/static" "$dir/tmp"
python3 "$here/gen_static.py" "$dir/root/bench.html" \
  --boundaries "${BOUNDARIES:-3}" --items "${ITEMS:-20}"
cp "$root/static/bench.css" "$dir/root/static/bench.css"
# nginx workers run as an unprivileged user: let them read the docroot
chmod 755 "$dir" "$dir/root" "$dir/root/static"
chmod 644 "$dir/root/bench.html" "$dir/root/static/bench.css"

cat > "$dir/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $WORKERS;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
    worker_connections 16384;
    multi_accept on;
}

http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server_tokens off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    types {
        text/html html;
        text/css css;
    }
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/css;

    server {
        listen 127.0.0.1:$PORT backlog=511;
        root $dir/root;
        location = /bench {
            alias $dir/root/bench.html;
            default_type text/html;
        }
        location = /static/bench.css {
        }
        location / {
            return 404;
        }
    }
}
CONF

"$NGINX" -t -p "$dir" -c "$dir/nginx.conf" 2>&1 | sed 's/^/nginx -t: /' >&2
echo "bench nginx: http://127.0.0.1:$PORT/bench  (conf + docroot in $dir)" >&2
exec "$NGINX" -p "$dir" -c "$dir/nginx.conf"
