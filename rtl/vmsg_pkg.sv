// Protocol constants of the virtio-msg peripheral: the two header formats
// (HDR_FORMAT), type bits, message ids (revision 1 of the virtio-msg transport),
// the framing error codes reported in TX_ERROR.CODE and fixed register values.

`default_nettype none

package vmsg_pkg;

  // ---------------------------------------------------------------------------
  // Header formats (parameter HDR_FORMAT, reported in BUS_INFO.HDR_FORMAT). The
  // protocol revision is 1 in both, so the revision does not tell them apart.
  //   HDR_SEED6 (0): the July 2025 RFC's 6-byte header
  //                  type u8, msg_id u8, dev_id u16, msg_size u16
  //   HDR_HDR8  (1): the specification draft's 8-byte header
  //                  type u8, msg_id u8, dev_num u16, token u16, msg_size u16
  // All fields little endian. The token is the bus's: the peripheral moves it
  // untouched and sends 0 in the events it makes (EVENT_USED).
  // ---------------------------------------------------------------------------
  localparam int unsigned HDR_SEED6 = 0;
  localparam int unsigned HDR_HDR8  = 1;

  // The headers as packed structs over bytes 0..5 / 0..7 of a message (byte 0
  // in bits 7:0, so the first member is the last byte).
  typedef struct packed {
    logic [15:0] msg_size;
    logic [15:0] dev_id;
    logic [7:0]  msg_id;
    logic [7:0]  msg_type;
  } vmsg_hdr6_t;

  typedef struct packed {
    logic [15:0] msg_size;
    logic [15:0] token;
    logic [15:0] dev_id;   // the draft's dev_num
    logic [7:0]  msg_id;
    logic [7:0]  msg_type;
  } vmsg_hdr8_t;

  // ---------------------------------------------------------------------------
  // Sizes (ID and BUS_INFO.REVISION values live in rtl/regs/vmsg_common.rdl).
  // MSG_SIZE is a multiple of 4 (slots are 32-bit words) in
  // slot_min(HDR_FORMAT)..VMSG_MAX_SLOT:
  //   6-byte: 44 and up (the RFC kernel's minimum, VIRTIO_MSG_MIN_SIZE 44);
  //   8-byte: 48 and up (48: QEMU's maximum, 8 + the largest fixed payload 40;
  //           a 2026 kernel asks for 50 and up, so it needs 52 or more).
  // ---------------------------------------------------------------------------
  localparam int unsigned VMSG_MIN_SIZE      = 44;   // smallest slot, 6-byte header
  localparam int unsigned VMSG_MIN_SIZE_HDR8 = 48;   // smallest slot, 8-byte header
  localparam int unsigned VMSG_MAX_SLOT      = 256;  // largest MSG_SIZE of this peripheral

  // Smallest MSG_SIZE of a header format.
  function automatic int unsigned slot_min(int unsigned fmt);
    return (fmt == HDR_HDR8) ? VMSG_MIN_SIZE_HDR8 : VMSG_MIN_SIZE;
  endfunction

  // ---------------------------------------------------------------------------
  // Header layout per format
  // ---------------------------------------------------------------------------
  localparam int unsigned HDR_BYTES       = 6;    // 6-byte header (the seed's)
  localparam int unsigned HDR8_BYTES      = 8;    // 8-byte header
  // Bytes of the staged message the framing check needs: the header and the
  // EVENT_AVAIL payload (index u32, next_offset_wrap u32) after it.
  localparam int unsigned SHADOW_BYTES    = 14;   // 6-byte header
  localparam int unsigned SHADOW_BYTES8   = 16;   // 8-byte header

  function automatic int unsigned hdr_bytes(int unsigned fmt);
    return (fmt == HDR_HDR8) ? HDR8_BYTES : HDR_BYTES;
  endfunction
  function automatic int unsigned shadow_bytes(int unsigned fmt);
    return (fmt == HDR_HDR8) ? SHADOW_BYTES8 : SHADOW_BYTES;
  endfunction

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
  // 6-byte header:
  localparam logic [15:0] EVENT_AVAIL_SIZE  = 16'd14;  // header + index u32 + next_offset_wrap u32
  localparam logic [15:0] EVENT_USED_SIZE   = 16'd10;  // header + index u32
  // 8-byte header (payload at byte 8):
  localparam logic [15:0] EVENT_AVAIL_SIZE8 = 16'd16;
  localparam logic [15:0] EVENT_USED_SIZE8  = 16'd12;
  // HEAD_LEN of an EVENT_USED head made from the engine's event input: its
  // msg_size rounded up to whole words, 12 in both formats.
  localparam logic [8:0]  EVENT_USED_LEN    = 9'd12;

  function automatic logic [15:0] evt_avail_size(int unsigned fmt);
    return (fmt == HDR_HDR8) ? EVENT_AVAIL_SIZE8 : EVENT_AVAIL_SIZE;
  endfunction

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

  // An AXI4-Lite register port (32-bit data, 16-bit byte addresses): the master's signals and
  // the slave's, one record each (vmsg_port, vmsg_axil_regif).
  localparam int unsigned REG_AW = 16;
  typedef struct packed {
    logic [REG_AW-1:0] awaddr;
    logic [2:0]        awprot;
    logic              awvalid;
    logic [31:0]       wdata;
    logic [3:0]        wstrb;
    logic              wvalid;
    logic              bready;
    logic [REG_AW-1:0] araddr;
    logic [2:0]        arprot;
    logic              arvalid;
    logic              rready;
  } axil_req_t;
  typedef struct packed {
    logic              awready;
    logic              wready;
    logic [1:0]        bresp;
    logic              bvalid;
    logic              arready;
    logic [31:0]       rdata;
    logic [1:0]        rresp;
    logic              rvalid;
  } axil_rsp_t;

endpackage

`default_nettype wire
