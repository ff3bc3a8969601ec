#!/usr/bin/python3
"""A tiny Neutron stand-in for the lab's nova-api (start.sh runs it).

    /usr/bin/python3 neutron_stub.py PORT PID_FILE

nova-api's evacuate path asks Neutron, before anything else, which API
extensions it has (``GET /v2.0/extensions``, to know whether ports may carry
extended resource requests) and, only if it has such an extension, the
instance's ports. The lab has no Neutron, so nova.conf's ``[neutron]``
``endpoint_override`` points here (127.0.0.1:PORT), and this answers, with the
JSON Neutron would send for a cloud without those extensions and ports:

* ``GET /v2.0/extensions``  -> ``{"extensions": []}``
* ``GET /v2.0/ports?...``   -> ``{"ports": []}`` (nova-api also asks this
  when it lists servers, for their security groups)
* ``GET /``                 -> the versions document
* anything else             -> 404 in Neutron's error format.

(nova.conf's ``[glance] endpoint_override`` points here too, under
``/glance``: nova-api only builds an image URL from it for a notification;
nothing is ever fetched.)

Every request is logged (method, path cut at 200 characters) to stdout (start.sh sends it to
$DIR/log/neutron-stub.log). The process writes its pid to PID_FILE and ends
on SIGTERM (stop.sh).
"""

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def log(msg):
    print("[%s] neutron_stub: %s" % (time.strftime("%H:%M:%S"), msg),
          flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as keystoneauth expects
    server_version = "lab-neutron-stub"

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):   # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path.rstrip("/")
        if path.endswith(".json"):   # old neutronclients add the format
            path = path[:-len(".json")]
        if path == "":
            self._send(200, {"versions": [{
                "id": "v2.0", "status": "CURRENT", "links": [{
                    "rel": "self",
                    "href": "http://%s/v2.0/" % self.headers.get("Host", "")}]}]})
        elif path == "/v2.0/extensions":
            self._send(200, {"extensions": []})
        elif path == "/v2.0/ports":
            self._send(200, {"ports": []})
        else:
            self._not_found()

    def _not_found(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._send(404, {"NeutronError": {
            "type": "HTTPNotFound", "detail": "",
            "message": "The resource could not be found (lab Neutron "
                       "stand-in: only GET /v2.0/extensions and "
                       "/v2.0/ports)."}})

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_found

    def log_message(self, fmt, *args):
        path = self.path if len(self.path) <= 200 else self.path[:200] + "..."
        log("%s %s -> %s" % (self.command, path,
                             args[1] if len(args) > 1 else "?"))


def main():
    port, pid_file = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(pid_file, "w") as f:
        f.write("%d\n" % os.getpid())
    log("listening on 127.0.0.1:%d" % port)
    server.serve_forever()


if __name__ == "__main__":
    main()
