"""Pure-Python reference models of the used-index engine (no simulator needed).

- used_ring.UsedRingModel: the split-ring used ring a queue's completions must produce.
- notify.NotifyOracle: which notifications the virtio spec requires for a sequence of
  published used->idx values and the avail-ring values (flags / used_event) read for them.
"""

from .notify import NotifyOracle, vring_need_event
from .used_ring import UsedElem, UsedRingModel

__all__ = ["NotifyOracle", "UsedElem", "UsedRingModel", "vring_need_event"]
