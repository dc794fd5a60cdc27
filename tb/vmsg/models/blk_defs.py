"""virtio-blk definitions shared by the driver and device models (include/uapi/linux/virtio_blk.h)."""

# Feature bits.
VIRTIO_BLK_F_SIZE_MAX = 1
VIRTIO_BLK_F_SEG_MAX = 2
VIRTIO_BLK_F_GEOMETRY = 4
VIRTIO_BLK_F_RO = 5
VIRTIO_BLK_F_BLK_SIZE = 6
VIRTIO_BLK_F_FLUSH = 9
VIRTIO_BLK_F_TOPOLOGY = 10
VIRTIO_BLK_F_CONFIG_WCE = 11
VIRTIO_BLK_F_MQ = 12
VIRTIO_BLK_F_DISCARD = 13
VIRTIO_BLK_F_WRITE_ZEROES = 14
VIRTIO_BLK_F_SECURE_ERASE = 16

# struct virtio_blk_config offsets.
BLK_CFG_CAPACITY = 0
BLK_CFG_SIZE_MAX = 8
BLK_CFG_SEG_MAX = 12
BLK_CFG_GEOMETRY = 16
BLK_CFG_BLK_SIZE = 20
BLK_CFG_WCE = 32
BLK_CFG_NUM_QUEUES = 34
BLK_CONFIG_SIZE = 60          # through write_zeroes_may_unmap and its padding

SECTOR_SIZE = 512

# struct virtio_blk_outhdr { le32 type; le32 reserved; le64 sector; }
BLK_OUTHDR_FMT = "<IIQ"
BLK_OUTHDR_SIZE = 16
# Request types.
VIRTIO_BLK_T_IN = 0
VIRTIO_BLK_T_OUT = 1
VIRTIO_BLK_T_FLUSH = 4
VIRTIO_BLK_T_GET_ID = 8
VIRTIO_BLK_ID_BYTES = 20
# Status byte values.
VIRTIO_BLK_S_OK = 0
VIRTIO_BLK_S_IOERR = 1
VIRTIO_BLK_S_UNSUPP = 2
