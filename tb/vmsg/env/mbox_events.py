"""Mailbox-level events reconstructed from the AXI4-Lite transactions on a port.

MboxDecoder follows what software did on one port (window writes, commits,
discards, head reads, pops, doorbell accesses) purely from the wires and the
register map, and turns it into MboxEvents: the message that was committed,
refused, or popped, byte for byte. It knows nothing of the RTL; it applies
the documented semantics (a slot holds what was written since the last
accepted commit or discard, the rest reads as zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bfm.axil import OKAY
from ..regmap import RegMap
from .mbox_agent import PortTxn


@dataclass
class MboxEvent:
    kind: str           # commit | reject | tx_error | discard | pop | underflow | rx_status |
                        # db_read | db_clear | db_data | win_write_err | win_read_err | reg
    port: str           # "drv" | "dev"
    time_ns: float
    start_ns: float = 0.0
    slot: bytes = b""   # commit/reject: the staged slot (MSG_SIZE bytes); pop: the words read, zero padded
    length: int = 0     # commit: written length (bytes); pop/rx_status: HEAD_LEN seen
    read_words: frozenset = frozenset()  # pop: indices of the words the reader read
    code: int = 0       # tx_error: TX_ERROR.CODE; db_*: word / index; win_*: offset
    value: int = 0      # db_read / db_data / rx_status / reg: data
    resp: int = OKAY
    txn: PortTxn | None = field(default=None, repr=False)


class MboxDecoder:
    def __init__(self, port: str, regs: RegMap, msg_size: int):
        self.port = port
        self.regs = regs
        self.msg_size = msg_size
        self.tx_base = regs.addr("TX_MSG")
        self.rx_base = regs.addr("RX_MSG")
        self.win = regs.size("TX_MSG")
        self.a_tx_ctrl = regs.addr("TX_CTRL")
        self.a_rx_ctrl = regs.addr("RX_CTRL")
        self.a_rx_status = regs.addr("RX_STATUS")
        self.a_tx_error = regs.addr("TX_ERROR")
        self.db = None
        if port == "dev":
            self.db = (regs.addr("DB_PENDING"), regs.size("DB_PENDING"), regs.addr("DB_DATA"), regs.size("DB_DATA"))
        self._reset_staged()
        self._reset_head()

    def _reset_staged(self) -> None:
        self.staged = bytearray(self.msg_size)
        self.staged_words: set[int] = set()

    def _reset_head(self) -> None:
        self.head_words: dict[int, int] = {}
        self.head_len = 0

    def feed(self, t: PortTxn) -> list[MboxEvent]:
        ev = lambda kind, **kw: MboxEvent(kind, self.port, t.end_ns, t.start_ns, resp=t.resp, txn=t, **kw)  # noqa: E731
        a = t.addr & ~3
        if t.write and self.tx_base <= a < self.tx_base + self.win:
            off = a - self.tx_base
            if t.resp != OKAY:
                return [ev("win_write_err", code=off)]
            for lane in range(4):
                if t.strb >> lane & 1:
                    self.staged[off + lane] = (t.data >> (8 * lane)) & 0xFF
            self.staged_words.add(off // 4)
            return []
        if not t.write and self.rx_base <= a < self.rx_base + self.win:
            off = a - self.rx_base
            if t.resp != OKAY:
                return [ev("win_read_err", code=off, value=t.data)]
            self.head_words[off // 4] = t.data
            return []
        if t.write and a == self.a_tx_ctrl:
            out = []
            if self.regs.get("TX_CTRL", "COMMIT", t.data):
                length = 4 * (max(self.staged_words) + 1) if self.staged_words else 0
                kind = "commit" if t.resp == OKAY else "reject"
                e = ev(kind, slot=bytes(self.staged), length=length)
                out.append(e)
                if kind == "commit":
                    self._reset_staged()
            if self.regs.get("TX_CTRL", "DISCARD", t.data) and t.resp == OKAY:
                self._reset_staged()
                out.append(ev("discard"))
            return out
        if not t.write and a == self.a_tx_error:
            return [ev("tx_error", code=self.regs.get("TX_ERROR", "CODE", t.data), value=t.data)]
        if not t.write and a == self.a_rx_status:
            self.head_len = self.regs.get("RX_STATUS", "HEAD_LEN", t.data)
            return [ev("rx_status", value=t.data, length=self.head_len)]
        if t.write and a == self.a_rx_ctrl and self.regs.get("RX_CTRL", "POP", t.data):
            if t.resp != OKAY:
                self._reset_head()
                return [ev("underflow")]
            raw = bytearray(self.msg_size)
            for w, d in self.head_words.items():
                raw[4 * w:4 * w + 4] = d.to_bytes(4, "little")
            e = ev("pop", slot=bytes(raw), length=self.head_len, read_words=frozenset(self.head_words))
            self._reset_head()
            return [e]
        if self.db is not None:
            p_base, p_size, d_base, d_size = self.db
            if p_base <= a < p_base + p_size:
                word = (a - p_base) // 4
                return [ev("db_clear" if t.write else "db_read", code=word, value=t.data)]
            if d_base <= a < d_base + d_size and not t.write:
                return [ev("db_data", code=(a - d_base) // 4, value=t.data)]
        return [ev("reg", code=a, value=t.data)]
