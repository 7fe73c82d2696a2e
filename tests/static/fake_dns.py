"""A DNS server for tests/static/run.sh: answers A queries for one name with one address
and NXDOMAIN for everything else (AAAA included), over UDP.
    python3 tests/static/fake_dns.py LISTEN_ADDRESS NAME ADDRESS"""
import socket
import sys

listen, wanted, address = sys.argv[1], sys.argv[2].lower().rstrip("."), socket.inet_aton(sys.argv[3])
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind((listen, 53))
print("ready", flush=True)
while True:
    query, peer = server.recvfrom(512)
    labels, at = [], 12
    while query[at]:
        labels.append(query[at + 1 : at + 1 + query[at]].decode().lower())
        at += 1 + query[at]
    qtype = int.from_bytes(query[at + 1 : at + 3], "big")
    question = query[12 : at + 5]
    found = ".".join(labels) == wanted and qtype == 1
    header = query[:2] + (b"\x81\x80" if found else b"\x81\x83") + b"\x00\x01" + (b"\x00\x01" if found else b"\x00\x00") + b"\x00\x00\x00\x00"
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + address if found else b""
    server.sendto(header + question + answer, peer)
