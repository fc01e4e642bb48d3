"""The DNS both benchmarks speak themselves: query wire format, one UDP query
for readiness checks, and waiting for a condition."""

import os
import socket
import struct
import time

TYPE_A = 1
_OPT = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)   # EDNS0, 1232 bytes, like stubs


def name_wire(name):
    labels = [label.encode() for label in name.rstrip(".").split(".")]
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def question_wire(name, qtype=TYPE_A):
    return name_wire(name.lower()) + struct.pack("!HH", qtype, 1)


def query_wire(qid, question):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + question + _OPT


def ask(addr, name, qtype=TYPE_A, timeout=1.0):
    """One UDP query; the answer's rcode, or None without a matching answer in time."""
    question = question_wire(name, qtype)
    qid = int.from_bytes(os.urandom(2), "big")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((addr, 53))
            s.send(query_wire(qid, question))
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                data = s.recv(4096)
                if len(data) >= 12 and data[:2] == qid.to_bytes(2, "big") \
                        and data[12:12 + len(question)].lower() == question:
                    return data[3] & 0x0F
        except OSError:
            return None
    return None


def wait_until(predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not within {timeout:.0f} s")
