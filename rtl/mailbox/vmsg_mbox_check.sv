// Framing check of a staged virtio-msg message (combinational), in the order
// of docs/architecture.md: TYPE_RSVD, TYPE_DIR, SIZE_SMALL, SIZE_LARGE,
// DB_RANGE (EVENT_AVAIL to the device), OVERFLOW. The first failing check is
// the error code. An EVENT_AVAIL to the device that passes is a doorbell: it
// needs no FIFO space, so OVERFLOW does not apply to it.
//
// HDR_FORMAT selects the header: 6-byte (msg_size at byte 4, EVENT_AVAIL index
// at 6, next_offset_wrap at 10, minimum sizes 6 and 14) or 8-byte with token
// (token at 4, not looked at; msg_size at 6, index at 8, next_offset_wrap at
// 12, minimum sizes 8 and 16). The choice is a parameter: only the bit
// positions the fields come from change, the logic depth does not.
//
// Timing: purely combinational; its input is the mailbox's registered shadow
// of the staged bytes and its result is registered by the mailbox.

`default_nettype none

module vmsg_mbox_check
  import vmsg_pkg::*;
#(
  parameter int unsigned HDR_FORMAT = HDR_SEED6,  // HDR_SEED6 (6-byte header) or HDR_HDR8 (8-byte)
  parameter int unsigned MSG_SIZE  = 64,    // slot size in bytes (largest acceptable msg_size)
  parameter bit          TO_DEVICE = 1'b1,  // direction: 1 driver -> device, 0 device -> driver
  parameter int unsigned NUM_DEVS  = 8,     // device numbers with doorbells
  parameter int unsigned NUM_VQS   = 4,     // virtqueues per device with doorbells
  // staged bytes the check looks at: 14 (6-byte header) or 16 (8-byte header)
  localparam int unsigned SHB      = shadow_bytes(HDR_FORMAT)
) (
  input  wire logic [SHB*8-1:0]          hdr_i,       // staged bytes 0..SHB-1, little endian
  input  wire logic                      full_i,      // the FIFO holds DEPTH messages
  output      vmsg_err_e                 code_o,      // ERR_NONE: accepted
  output      logic                      doorbell_o,  // accepted as a doorbell (not queued)
  output      logic [15:0]               kick_dev_o,  // EVENT_AVAIL dev_id
  output      logic [31:0]               kick_vq_o,   // EVENT_AVAIL index
  output      logic [31:0]               kick_data_o  // EVENT_AVAIL next_offset_wrap
);

  if (HDR_FORMAT != HDR_SEED6 && HDR_FORMAT != HDR_HDR8) begin : g_bad_format
    $fatal(1, "vmsg_mbox_check: HDR_FORMAT %0d must be 0 (6-byte header) or 1 (8-byte header)",
           HDR_FORMAT);
  end

  logic [7:0]  msg_type, msg_id;
  logic [15:0] dev_id, msg_size, min_size, min_avail;
  logic [31:0] index, data;
  if (HDR_FORMAT == HDR_HDR8) begin : g_hdr8
    vmsg_hdr8_t hdr;
    assign hdr      = hdr_i[0 +: HDR8_BYTES*8];
    assign msg_type = hdr.msg_type;
    assign msg_id   = hdr.msg_id;
    assign dev_id   = hdr.dev_id;
    assign msg_size = hdr.msg_size;
    assign index    = hdr_i[HDR8_BYTES*8 +: 32];
    assign data     = hdr_i[(HDR8_BYTES+4)*8 +: 32];
    logic unused_token;   // the bus's: moved untouched, never looked at
    assign unused_token = ^hdr.token;
  end else begin : g_hdr6
    vmsg_hdr6_t hdr;
    assign hdr      = hdr_i[0 +: HDR_BYTES*8];
    assign msg_type = hdr.msg_type;
    assign msg_id   = hdr.msg_id;
    assign dev_id   = hdr.dev_id;
    assign msg_size = hdr.msg_size;
    assign index    = hdr_i[HDR_BYTES*8 +: 32];
    assign data     = hdr_i[(HDR_BYTES+4)*8 +: 32];
  end
  assign min_size  = 16'(hdr_bytes(HDR_FORMAT));
  assign min_avail = evt_avail_size(HDR_FORMAT);

  logic is_resp, is_bus, is_event_id, is_evt_avail, dir_ok;
  assign is_resp      = msg_type[TYPE_BIT_RESP];
  assign is_bus       = msg_type[TYPE_BIT_BUS];
  assign is_event_id  = msg_id >= MSG_ID_EVENT_BASE;
  assign is_evt_avail = !is_resp && !is_bus && (msg_id == MSG_EVENT_AVAIL);

  // Which messages a side may send (type bits 7:2 are known to be zero here).
  if (TO_DEVICE) begin : g_dir_to_dev
    // Requests (transport or bus) and the transport EVENT_AVAIL.
    assign dir_ok = !is_resp && (!is_event_id || is_evt_avail);
  end else begin : g_dir_to_drv
    // Responses, and the events EVENT_CONFIG / EVENT_USED (transport) and
    // EVENT_DEVICE (bus), which are sent as requests.
    assign dir_ok = (is_resp && !is_event_id)
                 || (!is_resp && !is_bus && (msg_id == MSG_EVENT_CONFIG || msg_id == MSG_EVENT_USED))
                 || (!is_resp && is_bus && (msg_id == BUS_MSG_EVENT_DEVICE));
  end

  logic doorbell;
  assign doorbell = TO_DEVICE && is_evt_avail;

  logic db_out_of_range;
  assign db_out_of_range = (32'(dev_id) >= NUM_DEVS) || (index >= NUM_VQS);

  always_comb begin
    if ((msg_type & TYPE_RSVD_MASK) != 8'h00) begin
      code_o = ERR_TYPE_RSVD;
    end else if (!dir_ok) begin
      code_o = ERR_TYPE_DIR;
    end else if (msg_size < min_size || (doorbell && msg_size < min_avail)) begin
      code_o = ERR_SIZE_SMALL;
    end else if (32'(msg_size) > MSG_SIZE) begin
      code_o = ERR_SIZE_LARGE;
    end else if (doorbell && db_out_of_range) begin
      code_o = ERR_DB_RANGE;
    end else if (!doorbell && full_i) begin
      code_o = ERR_OVERFLOW;
    end else begin
      code_o = ERR_NONE;
    end
  end

  assign doorbell_o  = doorbell && (code_o == ERR_NONE);
  assign kick_dev_o  = dev_id;
  assign kick_vq_o   = index;
  assign kick_data_o = data;

endmodule

`default_nettype wire
