"""Linux's own virtqueue code (drivers/virtio/virtio_ring.c, built by sim/vmsgsim/linux.py) as a
second, independent driver side: ctypes wrapper and DMA hooks (ring.py), the virtio-msg
transport and the virtio-blk / virtio-rng driver glue on top of it (driver.py)."""
