"""A real SMTP server for the tests (aiosmtpd): accepts every message on a free port of
127.0.0.1 and writes each one, decoded by Python's e-mail parser, as JSON to <dir>/<n>.json
({"from", "to", "subject", "text", "content_type", "charset"}). Prints "ready <port>" once it
listens, and stops when its standard input closes, so a test that dies leaves no server behind.

Usage: python3 capture.py DIR
"""

import asyncio
import email
import email.header
import email.policy
import json
import os
import socket
import sys

from aiosmtpd.controller import Controller


class Capture:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "raw_subject": str(email.header.make_header(email.header.decode_header(msg.get("subject", "")))),
            "text": body.get_content() if body else "",
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
        }
        self.count += 1
        path = os.path.join(self.folder, f"{self.count:04d}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


async def main():
    folder = sys.argv[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Capture(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"ready {port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    controller.stop()


asyncio.run(main())
