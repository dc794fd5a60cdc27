// Protocol constants of the virtio-msg peripheral: header layout, type bits,
// message ids (revision 1 of the virtio-msg transport), the framing error
// codes reported in TX_ERROR.CODE and fixed register values.

`default_nettype none

package vmsg_pkg;

  // ---------------------------------------------------------------------------
  // Sizes (ID and BUS_INFO.REVISION values live in rtl/regs/vmsg_common.rdl)
  // ---------------------------------------------------------------------------
  localparam int unsigned VMSG_MIN_SIZE   = 44;   // smallest bus message size Linux accepts
  localparam int unsigned VMSG_MAX_SLOT   = 256;  // largest MSG_SIZE of this peripheral

  // ---------------------------------------------------------------------------
  // Header: type u8, msg_id u8, dev_id u16, msg_size u16 (little endian)
  // ---------------------------------------------------------------------------
  localparam int unsigned HDR_BYTES       = 6;
  // Bytes of the staged header the framing check needs (EVENT_AVAIL: header,
  // index u32 at 6, next_offset_wrap u32 at 10).
  localparam int unsigned SHADOW_BYTES    = 14;

  // type byte
  localparam int unsigned TYPE_BIT_RESP   = 0;  // 0 request, 1 response
  localparam int unsigned TYPE_BIT_BUS    = 1;  // 0 transport message, 1 bus message
  localparam logic [7:0]  TYPE_RSVD_MASK  = 8'hFC;
  localparam logic [7:0]  TYPE_TRANSPORT_REQ = 8'h00;  // type byte of a transport request / event

  // ---------------------------------------------------------------------------
  // Message ids (enums, so that the full tables can live here without every
  // id being used by the RTL). Transport messages (type bit 1 = 0):
  // ---------------------------------------------------------------------------
  typedef enum logic [7:0] {
    MSG_DEVICE_INFO       = 8'h02,
    MSG_GET_DEV_FEATURES  = 8'h03,
    MSG_SET_DRV_FEATURES  = 8'h04,
    MSG_GET_CONFIG        = 8'h05,
    MSG_SET_CONFIG        = 8'h06,
    MSG_GET_DEVICE_STATUS = 8'h07,
    MSG_SET_DEVICE_STATUS = 8'h08,
    MSG_GET_VQUEUE        = 8'h09,
    MSG_SET_VQUEUE        = 8'h0A,
    MSG_RESET_VQUEUE      = 8'h0B,
    MSG_GET_SHM           = 8'h0C,
    MSG_EVENT_CONFIG      = 8'h40,
    MSG_EVENT_AVAIL       = 8'h41,
    MSG_EVENT_USED        = 8'h42
  } vmsg_msg_id_e;

  // Bus messages (type bit 1 = 1)
  typedef enum logic [7:0] {
    BUS_MSG_GET_DEVICES  = 8'h02,
    BUS_MSG_PING         = 8'h03,
    BUS_MSG_EVENT_DEVICE = 8'h40
  } vmsg_bus_msg_id_e;

  // Ids at or above this are events (no response expected).
  localparam logic [7:0] MSG_ID_EVENT_BASE    = 8'h40;

  // Sizes (header + fixed payload) of the messages the hardware looks into.
  localparam logic [15:0] EVENT_AVAIL_SIZE = 16'd14;  // header + index u32 + next_offset_wrap u32
  localparam logic [15:0] EVENT_USED_SIZE  = 16'd10;  // header + index u32
  // HEAD_LEN of an EVENT_USED head made from the engine's event input
  // (10 bytes rounded up to whole words).
  localparam logic [8:0]  EVENT_USED_LEN   = 9'd12;

  // ---------------------------------------------------------------------------
  // Framing error codes (TX_ERROR.CODE), in the order they are checked:
  // TYPE_RSVD, TYPE_DIR, SIZE_SMALL, SIZE_LARGE, DB_RANGE, OVERFLOW.
  // ---------------------------------------------------------------------------
  typedef enum logic [3:0] {
    ERR_NONE       = 4'd0,
    ERR_SIZE_SMALL = 4'd1,
    ERR_SIZE_LARGE = 4'd2,
    ERR_TYPE_RSVD  = 4'd3,
    ERR_TYPE_DIR   = 4'd4,
    ERR_OVERFLOW   = 4'd5,
    ERR_DB_RANGE   = 4'd6
  } vmsg_err_e;

  // AXI responses
  localparam logic [1:0] AXI_RESP_OKAY   = 2'b00;
  localparam logic [1:0] AXI_RESP_SLVERR = 2'b10;

endpackage

`default_nettype wire
