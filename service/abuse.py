"""Abuse limits on crowdsourced reports that track nobody: the client's address (trusted proxies
only), a per-client limit keyed by a rotating in-memory HMAC key, and a hashcash proof of work.

The per-client key is random, made in this process, replaced every
CAMDENSITY_REPORTS_KEY_ROTATION_S (the counters go with it), and never stored, logged or sent:
a counter's name is HMAC(key, address), which nobody without the key can link to an address,
and after a rotation not even this process can. With several uvicorn workers each worker has
its own key and counters, so a client may get up to (workers x CAMDENSITY_REPORTS_PER_CLIENT)
reports through per window; the per-area limit (counted in the store) and the proof of work
bind across workers. Sharing the key between workers would need it written somewhere (an
environment variable, a file, the store), which is what it must never be.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from camdensity.settings import ReportSettings


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[str]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the rightmost
    X-Forwarded-For entry that is not itself a trusted proxy (entries further left are what
    the client claims and could be forged)."""
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in n for n in networks)

    address = peer or "unknown"
    if not forwarded_for or not is_trusted(address):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        address = hop
        if not is_trusted(hop):
            break
    return address


class ClientLimiter:
    """At most `limit` hits per `window_s` per client, counted under HMAC(key, address)."""

    def __init__(self, settings: ReportSettings, clock: Callable[[], float] = time.time) -> None:
        self.limit = settings.reports_per_client
        self.window_s = settings.reports_client_window_s
        self.rotation_s = settings.reports_key_rotation_s
        self.clock = clock
        self._epoch = -1
        self._key = b""
        self._hits: dict[bytes, deque[float]] = {}

    def __repr__(self) -> str:
        return f"ClientLimiter(limit={self.limit}, window_s={self.window_s})"  # never the key

    def _rotate(self, now: float) -> None:
        epoch = int(now // self.rotation_s)
        if epoch != self._epoch:
            self._epoch, self._key, self._hits = epoch, secrets.token_bytes(32), {}

    def hit(self, address: str) -> int:
        """Count one request from `address`; 0 when allowed, else the seconds until it will be."""
        now = self.clock()
        self._rotate(now)
        name = hmac.new(self._key, address.encode(), hashlib.sha256).digest()
        hits = self._hits.setdefault(name, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            # No later than the key's rotation, which forgets every counter.
            until = min(hits[0] + self.window_s, (self._epoch + 1) * self.rotation_s)
            return max(1, int(until - now + 0.999))
        hits.append(now)
        if len(self._hits) > 100_000:  # bounded memory: forget counters whose window has passed
            for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
                del self._hits[stale]
        return 0


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits `digest` starts with."""
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


@dataclass(frozen=True)
class Challenge:
    """A stateless proof-of-work challenge: `expires.bits.random.signature`."""

    text: str
    bits: int
    expires: int


class ProofOfWork:
    """Issues signed challenges; checks that SHA-256(challenge ":" nonce) starts with `bits`
    zero bits. The signature (HMAC with the store's report_pow_key) lets any worker check a
    challenge another one issued; the store refuses a challenge spent twice."""

    def __init__(self, key: bytes, settings: ReportSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.bits = settings.reports_pow_bits
        self.ttl_s = settings.reports_challenge_ttl_s
        self.clock = clock

    def __repr__(self) -> str:
        return f"ProofOfWork(bits={self.bits})"

    def _sign(self, body: str) -> str:
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> Challenge:
        """A new challenge valid for CAMDENSITY_REPORTS_CHALLENGE_TTL_S."""
        expires = int(self.clock()) + self.ttl_s
        body = f"{expires}.{self.bits}.{secrets.token_hex(12)}"
        return Challenge(f"{body}.{self._sign(body)}", self.bits, expires)

    def check(self, challenge: str, nonce: str) -> str | None:
        """None when the work is done, else why it is not accepted."""
        parts = challenge.split(".")
        if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
            return "challenge: not one this service issued (GET /reports/challenge)"
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(body), parts[3]):
            return "challenge: not one this service issued (GET /reports/challenge)"
        if int(parts[0]) < self.clock():
            return "challenge: expired (CAMDENSITY_REPORTS_CHALLENGE_TTL_S); ask for a new one"
        bits = int(parts[1])
        if bits < self.bits:
            return f"challenge: asks {bits} bits, below CAMDENSITY_REPORTS_POW_BITS ({self.bits})"
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if leading_zero_bits(digest) < bits:
            return (f"nonce: SHA-256(challenge \":\" nonce) must start with {bits} zero bits "
                    "(CAMDENSITY_REPORTS_POW_BITS)")
        return None


def solve(challenge: str, bits: int) -> str:
    """A nonce for `challenge` (what the map page computes in the browser; tests use it)."""
    nonce = 0
    while leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) < bits:
        nonce += 1
    return str(nonce)
