"""A peer gateway built on libsrtp (through pylibsrtp), for `cargo xtask srtp-interop`.

It plays site 1 towards one borderlinkd: it protects the plain RTP packets the test hands it
with libsrtp and sends them to the daemon, and it unprotects, with libsrtp, whatever the daemon
sends it (SRTP voice and SRTCP keepalives), reporting the plain packets back to the test.

Protocol on stdin/stdout, one line each:
  test -> peer:  send <hex of a plain RTP packet> | sendrtcp <hex of a plain RTCP packet>
  peer -> test:  ready <udp port> | rtp <hex> | rtcp <hex> | error <what>

Usage: srtp_peer.py SUITE SEND_KEY_B64 RECEIVE_KEY_B64 DAEMON_HOST:PORT
"""

import base64
import select
import socket
import sys

import pylibsrtp

PROFILES = {
    "AEAD_AES_128_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
}


def session(key, direction, profile):
    return pylibsrtp.Session(
        pylibsrtp.Policy(key=key, ssrc_type=direction, srtp_profile=profile)
    )


def main():
    suite, send_key, receive_key, daemon = sys.argv[1:5]
    profile = PROFILES[suite]
    host, port = daemon.rsplit(":", 1)
    daemon = (host, int(port))
    tx = session(base64.b64decode(send_key), pylibsrtp.Policy.SSRC_ANY_OUTBOUND, profile)
    rx = session(base64.b64decode(receive_key), pylibsrtp.Policy.SSRC_ANY_INBOUND, profile)
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
                sock.sendto(tx.protect(bytes.fromhex(arg)), daemon)
            elif verb == "sendrtcp":
                sock.sendto(tx.protect_rtcp(bytes.fromhex(arg)), daemon)
        if sock in readable:
            data, _ = sock.recvfrom(2048)
            try:
                if len(data) > 1 and 192 <= data[1] <= 223:
                    print("rtcp", rx.unprotect_rtcp(data).hex(), flush=True)
                else:
                    print("rtp", rx.unprotect(data).hex(), flush=True)
            except pylibsrtp.Error as err:
                print("error", err, flush=True)


if __name__ == "__main__":
    main()
