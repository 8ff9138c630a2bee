"""Real processes for the browser tests: a fresh database, two rpc-servers and http-servers on
free loopback ports, and a small HTTP client for the API (to seed and to check what is stored).

Readiness is always a fact the servers report (`/readyz`), never a fixed sleep.
"""

import http.server
import json
import mimetypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
RPC_SERVER = os.environ.get("IM_RPC_SERVER_BIN", str(TARGET / "debug" / "rpc-server"))
HTTP_SERVER = os.environ.get("IM_HTTP_SERVER_BIN", str(TARGET / "debug" / "http-server"))
LOGS = ROOT / ".run" / "browser-logs"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(log, lines=30):
    """The last lines of a server's log, for a failure's message (CI keeps no files)."""
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(f"    {line}" for line in text)


def wait_ready(url, process, timeout=60.0):
    """Returns once `url` answers 200; fails early if the process died meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}; its log "
                               f"ends:\n{log_tail(process.log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)  # the interval between two looks at the fact, not a guess at readiness
    raise RuntimeError(f"{url} not ready within {timeout:.0f} s; its log ends:\n"
                       f"{log_tail(process.log)}")


class MariaDb:
    """The server of a `mysql://user[:password]@host:port` URL, driven by the `mariadb` client."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        parts = urllib.parse.urlsplit(self.url)
        self.args = ["mariadb", "--protocol=tcp", f"-h{parts.hostname}",
                     f"-P{parts.port or 3306}", f"-u{urllib.parse.unquote(parts.username or 'root')}"]
        if parts.password:
            self.args.append(f"-p{urllib.parse.unquote(parts.password)}")

    def execute(self, sql):
        subprocess.run([*self.args, "-e", sql], check=True, capture_output=True, timeout=60)

    def fresh_database(self):
        name = f"im_test_browser_{secrets.token_hex(4)}"
        self.execute(f"CREATE DATABASE `{name}`")
        return name


class Stack:
    """One database, two rpc-servers and any number of http-servers; `close` ends them all."""

    def __init__(self, mysql_url):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.db = MariaDb(mysql_url)
        self.database = self.db.fresh_database()
        self.database_url = f"{self.db.url}/{self.database}"
        self.rpc = [(free_port(), free_port()) for _ in range(2)]
        self.rpc_procs = []
        self.http_procs = []
        self.http_by_base = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="im-browser-"))  # secrets and such

    def _spawn(self, binary, name, env):
        with open(LOGS / f"{name}.log", "ab") as log:
            log.write(f"==== {time.strftime('%H:%M:%S')} {self.database} {env}\n".encode())
            log.flush()
            process = subprocess.Popen([binary], env={**os.environ, **env}, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        process.log = LOGS / f"{name}.log"
        return process

    def start_rpc_servers(self):
        """Starts both replicas (on the same ports every time) and waits until both are ready."""
        self.rpc_procs = [
            self._spawn(RPC_SERVER, f"rpc-server-{i}", {
                "IM_RPC_LISTEN": f"127.0.0.1:{listen}",
                "IM_RPC_ADMIN_LISTEN": f"127.0.0.1:{admin}",
                "ETCD_ENDPOINTS": "",
                "DATABASE_URL": self.database_url,
                # As a fresh deployment runs (docs/operations.md).
                "IM_INBOX_VERSIONS": os.environ.get("IM_INBOX_VERSIONS", "clock"),
            })
            for i, (listen, admin) in enumerate(self.rpc)
        ]
        for proc, (_, admin) in zip(self.rpc_procs, self.rpc):
            wait_ready(f"http://127.0.0.1:{admin}/readyz", proc)

    def kill_rpc_servers(self):
        """A crash of every replica: SIGKILL, no graceful shutdown."""
        for proc in self.rpc_procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def start_http_server(self, name="http-server", port=None, **settings):
        """An http-server in front of both replicas (on `port`, or a free one); its base URL
        once it is ready."""
        port = port or free_port()
        proc = self._spawn(HTTP_SERVER, name, {
            "IM_HTTP_LISTEN": f"127.0.0.1:{port}",
            "IM_RPC_ADDRS": ",".join(f"127.0.0.1:{listen}" for listen, _ in self.rpc),
            "ETCD_ENDPOINTS": "",
            **settings,
        })
        self.http_procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/readyz", proc)
        self.http_by_base[base] = proc
        return base

    def kill_http_server(self, base):
        """A crash of the http-server at `base`: SIGKILL."""
        proc = self.http_by_base.pop(base)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def close(self):
        for proc in self.rpc_procs + self.http_procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            self.db.execute(f"DROP DATABASE IF EXISTS `{self.database}`")
        except subprocess.SubprocessError as e:
            print(f"note: could not drop {self.database}: {e}")


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """The HTTP API as a script uses it (urllib, JSON), with an optional bearer token."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token

    def call(self, method, path, query=None, body=None):
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode(errors="replace")) from None

    def send(self, chat, sender, text, client_msg_id=None):
        body = {"chat": chat, "sender": sender, "text": text}
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self.call("POST", "/api/send", body=body)["message"]

    def history(self, chat):
        """Every message of the chat, oldest first, following next_cursor."""
        messages, cursor = [], 0
        while True:
            page = self.call("GET", "/api/pull", {"chat": chat, "cursor": cursor, "limit": 100})
            messages += page["messages"]
            if not page["has_more"]:
                return messages
            cursor = page["next_cursor"]

    def mark_read(self, chat, member, read_up_to):
        """POST /api/read: the marker as stored."""
        body = {"chat": chat, "member": member, "read_up_to": read_up_to}
        return self.call("POST", "/api/read", body=body)["read_up_to"]

    def inbox_entry(self, member, chat):
        """`member`'s inbox entry for `chat` (with unread, read_up_to, peer_read_up_to)."""
        chats = self.call("GET", "/api/chats", {"member": member, "reverse": "true"})["chats"]
        return next(c for c in chats if c["chat"] == chat)

    def demo_token(self, member):
        return self.call("POST", "/api/demo/token", body={"member": member})["token"]


# The headers web.rs sends with the page, copied so that the page from disk meets the same rules.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def serve_web_from_disk(upstream):
    """For work on the page: the http-server compiles web/ in, so an edit needs a rebuild. This
    serves web/ from disk and forwards /api/* to `upstream`; returns its base URL."""
    web = (ROOT / "web").resolve()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body, headers):
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except ConnectionError:
                pass  # the page went away meanwhile (a closed tab's long poll)

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            request = urllib.request.Request(upstream + self.path, method=self.command,
                                             data=self.rfile.read(length) if length else None)
            for name in ("Content-Type", "Authorization", "Idempotency-Key"):
                if self.headers.get(name):
                    request.add_header(name, self.headers[name])
            try:
                answer = urllib.request.urlopen(request, timeout=60)
            except urllib.error.HTTPError as e:
                answer = e
            except OSError:
                return self.answer(502, b"", {})
            with answer:
                keep = ("content-type", "retry-after", "www-authenticate", "allow")
                self.answer(answer.status, answer.read(),
                            {k: v for k, v in answer.headers.items() if k.lower() in keep})

        def do_POST(self):
            self.forward()

        def do_GET(self):
            if self.path.startswith("/api/"):
                return self.forward()
            path = urllib.parse.urlsplit(self.path).path
            file = (web / (path.lstrip("/") or "index.html")).resolve()
            if not file.is_file() or web not in file.parents:
                return self.answer(404, b'{"code":5,"msg":"no such route"}',
                                   {"Content-Type": "application/json"})
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            self.answer(200, file.read_bytes(), {"Content-Type": kind, **PAGE_HEADERS})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"
