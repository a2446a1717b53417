#!/usr/bin/python3
"""Local stand-ins for the example deployment's peers, so a newcomer sees notifications arrive:

    /usr/bin/python3 scripts/stand-ins.py OUT [--smtp-port 2525] [--http-port 9798]

- a mail catcher (Debian's python3-aiosmtpd) on 127.0.0.1:SMTP_PORT: each message is written to
  OUT/mail/NNNN.eml;
- a webhook catcher on 127.0.0.1:HTTP_PORT: each POST body (the Teams card, Alertmanager's
  /api/v2/alerts) is written to OUT/webhooks/NNNN-PATH.json, answered 200.

Both listen on loopback only and print one line per message received. Ctrl-C or SIGTERM stops.
"""
import argparse
import http.server
import itertools
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=9798)
    args = parser.parse_args()
    mail_dir = os.path.join(args.out, "mail")
    hook_dir = os.path.join(args.out, "webhooks")
    os.makedirs(mail_dir, exist_ok=True)
    os.makedirs(hook_dir, exist_ok=True)
    numbers = itertools.count(1)
    lock = threading.Lock()

    def save(directory, name, data):
        with lock:
            path = os.path.join(directory, "%04d-%s" % (next(numbers), name))
        with open(path, "wb") as f:
            f.write(data)
        print("received %s" % path, flush=True)

    class Mail:
        async def handle_DATA(self, server, session, envelope):
            save(mail_dir, "%s.eml" % "+".join(envelope.rcpt_tos).replace("/", "_")[:80], envelope.original_content)
            return "250 OK"

    class Hooks(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            save(hook_dir, self.path.strip("/").replace("/", "_")[:60] + ".json", body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    smtp = Controller(Mail(), hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", args.http_port), Hooks)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    print("stand-ins: mail on 127.0.0.1:%d -> %s, webhooks on 127.0.0.1:%d -> %s" % (
        args.smtp_port, mail_dir, args.http_port, hook_dir), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    web.shutdown()
    smtp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
