"""A peer gateway built on libsrtp (through pylibsrtp), for `cargo xtask srtp-interop`.

It plays site 1 towards one borderlinkd: it protects the plain RTP packets the test hands it
with libsrtp and sends them to the daemon, and it unprotects, with libsrtp, whatever the daemon
sends it (SRTP voice and SRTCP keepalives), reporting the plain packets back to the test.

Like borderlinkd, it protects under a key of its own run: HKDF-SHA256 (RFC 5869) of the key
file's key and salt, with a random 8-byte epoch as salt, and sends that epoch as the last 8
bytes of each datagram; what it receives it unprotects under the key of the epoch the
datagram ends with (docs/wire.md, "Key epochs"). The derivation is written here from the RFC
with the standard library, independently of the daemon's Rust code.

Protocol on stdin/stdout, one line each:
  test -> peer:  send <hex of a plain RTP packet> | sendrtcp <hex of a plain RTCP packet>
  peer -> test:  ready <udp port> | rtp <hex> | rtcp <hex> | error <what>

Usage: srtp_peer.py SUITE SEND_KEY_B64 RECEIVE_KEY_B64 DAEMON_HOST:PORT
"""

import base64
import hashlib
import hmac
import os
import select
import socket
import sys

import pylibsrtp

PROFILES = {
    "AEAD_AES_128_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
}


INFO = b"borderlink srtp key epoch v1"
EPOCH_LEN = 8


def derive(master, epoch):
    """HKDF-SHA256: extract with the epoch as salt, expand to the master's length."""
    prk = hmac.new(epoch, master, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < len(master):
        block = hmac.new(prk, block + INFO + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[: len(master)]


def session(key, direction, profile):
    return pylibsrtp.Session(
        pylibsrtp.Policy(key=key, ssrc_type=direction, srtp_profile=profile)
    )


def main():
    suite, send_key, receive_key, daemon = sys.argv[1:5]
    profile = PROFILES[suite]
    host, port = daemon.rsplit(":", 1)
    daemon = (host, int(port))
    epoch = os.urandom(EPOCH_LEN)
    tx = session(
        derive(base64.b64decode(send_key), epoch), pylibsrtp.Policy.SSRC_ANY_OUTBOUND, profile
    )
    receive_master = base64.b64decode(receive_key)
    rx_by_epoch = {}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    print("ready", sock.getsockname()[1], flush=True)
    while True:
        readable, _, _ = select.select([sys.stdin, sock], [], [])
        if sys.stdin in readable:
            line = sys.stdin.readline()
            if not line:
                return
            verb, _, arg = line.strip().partition(" ")
            if verb == "send":
                sock.sendto(tx.protect(bytes.fromhex(arg)) + epoch, daemon)
            elif verb == "sendrtcp":
                sock.sendto(tx.protect_rtcp(bytes.fromhex(arg)) + epoch, daemon)
        if sock in readable:
            datagram, _ = sock.recvfrom(2048)
            data, their_epoch = datagram[:-EPOCH_LEN], datagram[-EPOCH_LEN:]
            rx = rx_by_epoch.get(their_epoch)
            if rx is None:
                rx = session(
                    derive(receive_master, their_epoch),
                    pylibsrtp.Policy.SSRC_ANY_INBOUND,
                    profile,
                )
                rx_by_epoch[their_epoch] = rx
            try:
                if len(data) > 1 and 192 <= data[1] <= 223:
                    print("rtcp", rx.unprotect_rtcp(data).hex(), flush=True)
                else:
                    print("rtp", rx.unprotect(data).hex(), flush=True)
            except pylibsrtp.Error as err:
                print("error", err, flush=True)


if __name__ == "__main__":
    main()
