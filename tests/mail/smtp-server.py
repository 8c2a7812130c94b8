#!/usr/bin/python3
"""A real SMTP server for the mail tests (aiosmtpd, Debian python3-aiosmtpd).

  /usr/bin/python3 tests/mail/smtp-server.py PORT DIR

Listens on 127.0.0.1:PORT without TLS. Every accepted message is written to
DIR/NNNN.json: envelope, raw text, and what Python's email package reads in
it (decoded headers, text and HTML parts, defects). Every RCPT is appended to
DIR/rcpt.log as "time-in-seconds address reply-code".

What it answers depends on the recipient's local part, so a test says what
it wants through the address it writes to:
  tempfailN-...   451 to RCPT the first N times, then 250
  reject-...      550 to RCPT (user unknown)
  holdN-...       the first N times, wait 30 s before answering DATA
                  (a daemon killed or stopped meanwhile)
  anything else   250
--delay-ms applies a pause before every DATA reply (to spread work over
several daemons). Prints "ready" on stdout once it listens; stops on SIGTERM
or SIGINT.
"""
import asyncio
import email
import email.policy
import json
import os
import re
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller

PORT = int(sys.argv[1])
DIR = sys.argv[2]
DELAY = 0.0
if len(sys.argv) > 3 and sys.argv[3].startswith('--delay-ms='):
    DELAY = int(sys.argv[3].split('=', 1)[1]) / 1000.0
os.makedirs(DIR, exist_ok=True)
seen = {}      # local part prefix + address -> times asked
counter = [0]


def log_rcpt(address, code):
    with open(os.path.join(DIR, 'rcpt.log'), 'a') as f:
        f.write(f'{time.time():.3f} {address} {code}\n')


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@', 1)[0].lower()
        key = address.lower()
        seen[key] = seen.get(key, 0) + 1
        m = re.match(r'tempfail(\d+)-', local)
        if m and seen[key] <= int(m.group(1)):
            log_rcpt(address, 451)
            return '451 4.3.0 Try again later (test server)'
        if local.startswith('reject-'):
            log_rcpt(address, 550)
            return '550 5.1.1 No such user here (test server)'
        log_rcpt(address, 250)
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        for address in envelope.rcpt_tos:
            m = re.match(r'hold(\d+)-', address.split('@', 1)[0].lower())
            key = 'data:' + address.lower()
            seen[key] = seen.get(key, 0) + 1
            if m and seen[key] <= int(m.group(1)):
                with open(os.path.join(DIR, 'hold.log'), 'a') as f:
                    f.write(f'{time.time():.3f} {address}\n')
                await asyncio.sleep(30)
                return '451 4.4.2 Held too long (test server)'
        if DELAY:
            await asyncio.sleep(DELAY)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = msg.get_body(('plain',))
        html = msg.get_body(('html',))
        counter[0] += 1
        record = {
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'raw': raw.decode('utf-8', 'replace'),
            'headers': {k: str(v) for k, v in msg.items()},
            'content_type': msg.get_content_type(),
            'text': text.get_content() if text is not None else None,
            'html': html.get_content() if html is not None else None,
            'defects': [str(d) for d in msg.defects] +
                       [str(d) for p in msg.walk() for d in p.defects],
            'received_at': time.time(),
        }
        path = os.path.join(DIR, f'{counter[0]:04d}.json')
        with open(path + '.tmp', 'w') as f:
            json.dump(record, f)
        os.rename(path + '.tmp', path)
        return '250 Message accepted for delivery'


controller = Controller(Handler(), hostname='127.0.0.1', port=PORT, enable_SMTPUTF8=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
controller.start()
print('ready', flush=True)
while not stop.wait(1):
    pass
controller.stop()
