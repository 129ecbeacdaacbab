"""The V2X client without ROS: datagram in -> checked messages -> signals, hints, objects (pure).

``V2xClientCore.receive(datagram, sender, now_ns)`` never raises: whatever arrives ends up
either accepted or counted by DropReason. It is ``admit`` (cheap: sizes, signed envelope,
message type from the first bits, rate limits - what a flood may cost, see ``admission.py`` -,
then the signature: ``security.py``) then ``process`` (decode, checks, store; a MAP seen before
is taken from a cache by content hash, not decoded again). SPaT is kept apart by authenticity:
the signal states of a signed SPaT from a trusted road-side unit are marked authenticated, an
unsigned one can neither replace nor hide them.
The outputs are recomputed from the latest accepted messages at each publication
(``outputs(now_ns)``), so hints expire on their own when messages stop, and the ego-relative
ones always use the current ego pose.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections import Counter, OrderedDict
from dataclasses import dataclass

from lsv_v2x_client import hints as H
from lsv_v2x_client import security
from lsv_v2x_client.admission import AdmissionGate
from lsv_v2x_client.checks import DropReason, EgoState, MessageChecker
from lsv_v2x_client.codec import Codec, V2xDecodeError
from lsv_v2x_client.messages import Bsm, MapData, MapNode, MessageKind, Rsi, Rsm, Spat, V2xMessage
from lsv_v2x_client.params import V2xClientParams
from lsv_v2x_client.projection import LocalProjection

_log = logging.getLogger(__name__)

NS = 1_000_000_000
MAP_HOLD_S = 600.0  # a cached MAP node is forgotten after this long without a repeat
MAP_CACHE_SIZE = 16  # decoded MAPs kept by content hash (an RSU repeats the same MAP every second)
_DECODE_REASONS = {"oversized": DropReason.OVERSIZED, "malformed": DropReason.MALFORMED,
                   "unsupported": DropReason.UNSUPPORTED}


@dataclass(frozen=True)
class Admitted:
    """A datagram admitted to decoding: its UPER payload and what is known before decoding it."""

    payload: bytes
    sender: str
    kind: MessageKind | None  # from the first bits (None: the profile cannot tell)
    signer: str | None = None  # trust store id of the signer when authenticated, None: unauthenticated


@dataclass(frozen=True)
class Outputs:
    signals: list[H.SignalState]
    hints: list[H.Hint]
    objects: list[H.RemoteObject]


class V2xClientCore:
    """``trust_store``: the signers whose messages count as authenticated (None: nobody's)."""

    def __init__(self, params: V2xClientParams, trust_store: security.TrustStore | None = None):
        self.params = params
        self.trust_store = trust_store if trust_store is not None else security.TrustStore()
        self.codec = Codec(params.profile, max_size=params.max_datagram_bytes + params.header_length)
        self.projection = LocalProjection(params.map_origin_lat_deg, params.map_origin_lon_deg,
                                          params.map_origin_alt_m)
        self.checker = MessageChecker(params.check_params(), self.projection)
        self.gate = AdmissionGate(params.admission_params())
        self.hint_params = params.hint_params()
        self.received = 0
        self.decoded = 0  # decoder calls
        self.map_cache_hits = 0
        self._map_cache: OrderedDict[bytes, MapData] = OrderedDict()  # SHA-256 of the payload -> MAP
        self._ego: EgoState | None = None
        self._bsm: dict[str, tuple[Bsm, int]] = {}
        self._rsm: dict[str, tuple[Rsm, int]] = {}
        self._rsi: dict[str, tuple[Rsi, int]] = {}  # RSU id -> (RSI, receive time)
        self._spat: dict[int, tuple[Spat, int]] = {}  # intersection id -> (unauthenticated SPaT, message time)
        self._spat_auth: dict[int, tuple[Spat, int]] = {}  # the same from signed SPaT of trusted signers
        self.authenticated = 0  # accepted messages with a valid signature of a trusted signer
        self._map_nodes: dict[int, tuple[MapNode, int]] = {}  # intersection id -> (node, receive time)
        self._lanes: list[H.LaneGeometry] = []

    # ------------------------------------------------------------------ inputs

    def set_ego(self, ego: EgoState | None) -> None:
        self._ego = ego

    def ego(self, now_ns: int) -> EgoState | None:
        """The ego state when fresh enough to check positions against, else None."""
        e = self._ego
        if e is None or now_ns - e.stamp_ns > self.params.odometry_timeout_s * NS:
            return None
        return e

    def receive(self, datagram: bytes, sender: str, now_ns: int) -> bool:
        """Admit, decode, check and store one datagram; True when accepted. Never raises for any input."""
        admitted = self.admit(datagram, sender, now_ns)
        return admitted is not None and self.process(admitted, now_ns)

    def admit(self, datagram: bytes, sender: str, now_ns: int) -> Admitted | None:
        """The cheap checks before any decoding: sizes, message type from the first bits, rate limits
        per UDP sender and for all senders. None (and the reason counted) when the datagram is dropped."""
        self.received += 1
        counts = self.checker.counts
        p = self.params
        hl = p.header_length
        if len(datagram) < hl + 1:
            counts[DropReason.HEADER] += 1
            return None
        payload = datagram[hl:]
        if len(payload) > p.max_datagram_bytes + security.OVERHEAD_BYTES:
            counts[DropReason.OVERSIZED] += 1
            return None
        envelope = None
        if security.is_envelope(payload):
            try:
                envelope = security.parse_envelope(payload)
            except security.EnvelopeError:
                counts[DropReason.BAD_ENVELOPE] += 1
                return None
            payload = envelope.payload
        elif p.require_signature:
            counts[DropReason.UNSIGNED] += 1
            return None
        if len(payload) > p.max_datagram_bytes:
            counts[DropReason.OVERSIZED] += 1
            return None
        try:
            kind = self.codec.frame_kind(payload)
        except V2xDecodeError as err:
            counts[_DECODE_REASONS.get(err.reason, DropReason.MALFORMED)] += 1
            return None
        if kind is not None and kind is not MessageKind.MAP and len(payload) > p.max_message_bytes:
            counts[DropReason.OVERSIZED] += 1
            return None
        if envelope is not None and kind is not None and kind is not envelope.kind:
            counts[DropReason.BAD_ENVELOPE] += 1  # signed as one type, carrying another
            return None
        reason = self.gate.admit(sender, now_ns)
        if reason is not None:
            counts[reason] += 1
            return None
        if envelope is None:
            return Admitted(payload, sender, kind)
        cert = self.trust_store.check(envelope, now_ns, p.signature_max_age_s, p.max_future_s)
        if isinstance(cert, DropReason):
            counts[cert] += 1
            return None
        return Admitted(payload, sender, kind or envelope.kind, cert.name)

    def process(self, admitted: Admitted, now_ns: int) -> bool:
        """Decode (or take a known MAP from the cache), check and store an admitted datagram."""
        counts = self.checker.counts
        payload = admitted.payload
        msg = self._decode(admitted, now_ns)
        if isinstance(msg, DropReason):
            counts[msg] += 1
            return False
        if admitted.signer is not None and msg.kind is not admitted.kind:
            counts[DropReason.BAD_ENVELOPE] += 1  # (a profile that cannot tell the type before decoding)
            return False
        # a signer's messages have their own duplicate / replay / rate bookkeeping
        sender = admitted.sender if admitted.signer is None else f"{admitted.sender}#{admitted.signer}"
        checked = self.checker.check(msg, sender, zlib.crc32(payload), now_ns, self.ego(now_ns))
        if checked is None:
            return False
        self.authenticated += admitted.signer is not None
        m, t = checked.message, checked.time_ns
        if isinstance(m, Bsm):
            self._bsm[checked.source] = (m, t)
        elif isinstance(m, Rsm):
            self._rsm[checked.source] = (m, t)
        elif isinstance(m, Rsi):
            self._rsi[checked.source] = (m, now_ns)  # RSI time is a minute of the year: hold from reception
        elif isinstance(m, Spat):
            store = self._spat if admitted.signer is None else self._spat_auth
            for inter in m.intersections:
                store[inter.ref.node_id] = (m, t)
        elif isinstance(m, MapData):
            self._store_map(m, now_ns)
        return True

    def _decode(self, admitted: Admitted, now_ns: int) -> V2xMessage | DropReason:
        """The message, from the MAP cache or the decoder (within the decode budget), or why not."""
        payload = admitted.payload
        key = None
        if admitted.kind in (MessageKind.MAP, None):
            key = hashlib.sha256(payload).digest()
            cached = self._map_cache.get(key)
            if cached is not None:
                self._map_cache.move_to_end(key)
                self.map_cache_hits += 1
                return cached
        if not self.gate.charge_decode(len(payload), now_ns):
            return DropReason.DECODE_BUDGET
        self.decoded += 1
        try:
            msg = self.codec.decode(payload)
        except V2xDecodeError as err:
            return _DECODE_REASONS.get(err.reason, DropReason.MALFORMED)
        if key is not None and isinstance(msg, MapData):
            self._map_cache[key] = msg
            if len(self._map_cache) > MAP_CACHE_SIZE:
                self._map_cache.popitem(last=False)
        return msg

    def _store_map(self, m: MapData, now_ns: int) -> None:
        changed = False
        for n in m.nodes:
            old = self._map_nodes.get(n.ref.node_id)
            changed = changed or old is None or (old[0] is not n and old[0] != n)
            self._map_nodes[n.ref.node_id] = (n, now_ns)
        if changed:
            self._rebuild_lanes()

    def _rebuild_lanes(self) -> None:
        nodes = tuple(n for n, _ in self._map_nodes.values())
        self._lanes = H.map_geometry(MapData(0, nodes), self.projection)

    # ------------------------------------------------------------------ outputs

    def _expire(self, now_ns: int) -> None:
        p = self.params
        hold = int(self.hint_params.moving_hint_hold_s * NS)
        self._bsm = {k: v for k, v in self._bsm.items() if now_ns - v[1] <= hold}
        self._rsm = {k: v for k, v in self._rsm.items() if now_ns - v[1] <= hold}
        self._rsi = {k: v for k, v in self._rsi.items() if now_ns - v[1] <= self.hint_params.rsi_hint_hold_s * NS}
        self._spat = {k: v for k, v in self._spat.items() if now_ns - v[1] <= p.spat_max_age_s * NS}
        self._spat_auth = {k: v for k, v in self._spat_auth.items() if now_ns - v[1] <= p.spat_max_age_s * NS}
        before = len(self._map_nodes)
        self._map_nodes = {k: v for k, v in self._map_nodes.items() if now_ns - v[1] <= MAP_HOLD_S * NS}
        if len(self._map_nodes) != before:
            self._rebuild_lanes()

    def outputs(self, now_ns: int) -> Outputs:
        """Signals, hints and remote objects valid at ``now_ns``."""
        self._expire(now_ns)
        proj, hp = self.projection, self.hint_params
        ego = self.ego(now_ns)
        signals: list[H.SignalState] = []
        for store, authenticated in ((self._spat_auth, True), (self._spat, False)):
            done: set[int] = set()
            for spat, t in store.values():
                if id(spat) in done:
                    continue
                done.add(id(spat))
                for inter in spat.intersections:
                    signals.extend(H.signal_states(inter, t, now_ns, self._lanes, authenticated))
        objects: list[H.RemoteObject] = []
        hints: list[H.Hint] = []
        for bsm, t in self._bsm.values():
            obj = H.bsm_object(bsm, t, proj)
            objects.append(H.predicted(obj, now_ns))
            if ego is None:
                continue
            if bsm.is_emergency:
                hints.append(H.emergency_hint(bsm, t, ego, proj, hp))
            if H.in_blind_zone(ego, obj.x, obj.y, min(obj.length, obj.width) / 2, hp):
                hints.append(H.Hint(H.HintType.BLIND_SPOT_OBJECT, obj.source_id, obj.object_id, obj.x, obj.y,
                                    t + int(hp.moving_hint_hold_s * NS), radius=max(obj.length, obj.width) / 2,
                                    heading=obj.yaw, distance=((obj.x - ego.x) ** 2 + (obj.y - ego.y) ** 2) ** 0.5))
        for rsm, t in self._rsm.values():
            rsu = rsm.rsu_id.hex()
            for ptc in rsm.participants:
                obj = H.participant_object(rsu, ptc, t, proj)
                if obj is None:
                    continue
                objects.append(H.predicted(obj, now_ns))
                if ego is None:
                    continue
                hint = H.crossing_hint(rsu, ptc, t, ego, self._lanes, proj, hp)
                if hint is not None:
                    hints.append(hint)
                elif H.in_blind_zone(ego, obj.x, obj.y, min(obj.length, obj.width) / 2, hp):
                    hints.append(H.Hint(H.HintType.BLIND_SPOT_OBJECT, rsu, ptc.ptc_id, obj.x, obj.y,
                                        t + int(hp.moving_hint_hold_s * NS), radius=max(obj.length, obj.width) / 2,
                                        heading=obj.yaw))
        for rsi, t in self._rsi.values():
            hints.extend(h for h in H.rsi_hints(rsi, t, now_ns, proj, hp) if h.valid_until_ns > now_ns)
        if ego is not None:  # warnings only add caution: from either kind of SPaT
            for store in (self._spat_auth, self._spat):
                hints.extend(H.red_light_warning(ego, self._lanes, store, now_ns, hp))
        return Outputs(signals, hints, objects)

    # ------------------------------------------------------------------ diagnostics

    def drop_counts(self) -> dict[str, int]:
        """Dropped messages by reason (every reason listed, zeros included) and dropped elements."""
        out = {f"dropped.{r.value}": self.checker.counts.get(r, 0) for r in DropReason}
        out.update({f"dropped_elements.{r.value}": n for r, n in self.checker.element_counts.items()})
        return out

    def accepted_counts(self) -> Counter:
        return self.checker.accepted
