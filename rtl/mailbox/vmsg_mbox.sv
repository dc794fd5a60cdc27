// One direction of the virtio-msg mailbox (docs/architecture.md, "Mailbox"):
// the writer (vmsg_mbox_wr: TX window, TX_CTRL, framing check, zero fill,
// doorbell kicks), the slot FIFO (vmsg_mbox_slots: DEPTH + 1 slots of
// MSG_SIZE bytes in one RAM, the slot at the write pointer always the
// writer's staging slot, so a message can be staged while the FIFO is full)
// and the reader (vmsg_mbox_rd: head choice between the FIFO and, to the
// driver, EVENT_USED events; RX window, RX_CTRL). This module only connects
// them.
//
// Timing: as its three blocks. Every request is registered on entry and every
// ack, error and read data word on the way out: acks come two cycles after the
// request at the earliest, four for window reads that return a word. The
// writer's push reaches the reader's head choice in its cycle (a message
// pushed into an empty mailbox is head in the next cycle); the reader's pop
// makes a TX_CTRL request in the next cycle wait one cycle for a fresh framing
// check. No spacing of requests on either port is assumed beyond the register
// block's one request per side at a time.

`default_nettype none

module vmsg_mbox
  import vmsg_pkg::*;
#(
  parameter int unsigned HDR_FORMAT = HDR_SEED6,  // HDR_SEED6 (6-byte header) or HDR_HDR8 (8-byte)
  parameter int unsigned MSG_SIZE  = 64,    // bytes per slot: multiple of 4, 44..256 (48..256 HDR8)
  parameter int unsigned DEPTH     = 8,     // messages the FIFO holds: 2..255
  parameter bit          TO_DEVICE = 1'b1,  // 1: driver writes, device reads; 0: the reverse
  parameter int unsigned NUM_DEVS  = 8,     // device numbers with doorbells (EVENT_AVAIL check)
  parameter int unsigned NUM_VQS   = 4      // virtqueues per device with doorbells
) (
  input  wire logic        clk_i,
  input  wire logic        rst_ni,

  // ---- writer side ----
  // TX_CTRL (external register; the register block forwards writes only)
  input  wire logic        tx_ctrl_req_i,
  input  wire logic        tx_ctrl_commit_i,    // COMMIT bit written as 1
  input  wire logic        tx_ctrl_discard_i,   // DISCARD bit written as 1
  output      logic        tx_ctrl_ack_o,
  output      logic        tx_ctrl_err_o,
  // TX_MSG window (64 words)
  input  wire logic        tx_win_req_i,
  input  wire logic        tx_win_we_i,
  input  wire logic [5:0]  tx_win_word_i,      // word within the window
  input  wire logic [31:0] tx_win_wdata_i,
  input  wire logic [31:0] tx_win_wmask_i,
  output      logic        tx_win_rd_ack_o,
  output      logic        tx_win_wr_ack_o,
  output      logic        tx_win_err_o,
  // TX_STATUS / TX_ERROR
  output      logic [8:0]  tx_count_o,
  output      logic        tx_full_o,
  output      logic [8:0]  tx_staged_len_o,
  output      logic [3:0]  tx_err_code_o,
  // one-cycle pulses: counters, sticky flag, interrupt
  output      logic        tx_accepted_o,       // a message was queued
  output      logic [6:1]  tx_rej_o,            // a commit was refused, bit = error code
  output      logic        tx_overflow_o,       // TX_ERROR.OVERFLOW hwset
  output      logic        tx_doorbell_o,       // an EVENT_AVAIL went to the doorbells
  output      logic        tx_err_irq_o,        // TX_ERR interrupt

  // ---- reader side ----
  // RX_CTRL (external register; writes only)
  input  wire logic        rx_ctrl_req_i,
  input  wire logic        rx_ctrl_pop_i,       // POP bit written as 1
  output      logic        rx_ctrl_ack_o,
  output      logic        rx_ctrl_err_o,
  // RX_MSG window (64 words)
  input  wire logic        rx_win_req_i,
  input  wire logic        rx_win_we_i,
  input  wire logic [5:0]  rx_win_word_i,      // word within the window
  output      logic        rx_win_rd_ack_o,
  output      logic        rx_win_wr_ack_o,
  output      logic [31:0] rx_win_rdata_o,
  output      logic        rx_win_err_o,
  // RX_STATUS
  output      logic [8:0]  rx_count_o,
  output      logic        rx_empty_o,
  output      logic [8:0]  rx_head_len_o,
  // one-cycle pulses
  output      logic        rx_popped_o,
  output      logic        rx_underflow_o,
  output      logic        rx_msg_irq_o,        // RX_MSG interrupt

  // ---- doorbell kick (TO_DEVICE = 1), one cycle ----
  output      logic        kick_valid_o,
  output      logic [15:0] kick_dev_o,
  output      logic [15:0] kick_vq_o,
  output      logic [31:0] kick_data_o,

  // ---- event input (TO_DEVICE = 0): EVENT_USED from the used-index engine ----
  input  wire logic        evt_valid_i,
  output      logic        evt_ready_o,
  input  wire logic [15:0] evt_dev_id_i,
  input  wire logic [15:0] evt_vq_i
);


  localparam int unsigned WORDS  = MSG_SIZE / 4;
  localparam int unsigned WIDX_W = $clog2(WORDS);

  if (MSG_SIZE % 4 != 0 || MSG_SIZE < slot_min(HDR_FORMAT) || MSG_SIZE > VMSG_MAX_SLOT
      || DEPTH < 2 || DEPTH > 255) begin : g_bad_params
    $fatal(1, "vmsg_mbox: MSG_SIZE %0d (multiple of 4, %0d..256) or DEPTH %0d (2..255) out of range",
           MSG_SIZE, slot_min(HDR_FORMAT), DEPTH);
  end

  // writer -> slot FIFO
  logic              slot_we;
  logic [WIDX_W-1:0] slot_widx;
  logic [31:0]       slot_wdata;
  logic [3:0]        slot_wbe;
  logic              push;
  logic [8:0]        push_len;
  logic [63:0]       push_hdr;
  // reader -> slot FIFO
  logic              pop;
  logic              rd_re;
  logic [WIDX_W-1:0] rd_widx;
  // slot FIFO -> writer, reader
  logic [8:0]        count, count_next;
  logic              full;
  logic [8:0]        head_len;
  logic [63:0]       head_hdr;
  logic [31:0]       rd_data;

  vmsg_mbox_wr #(
    .HDR_FORMAT (HDR_FORMAT),
    .MSG_SIZE   (MSG_SIZE),
    .TO_DEVICE  (TO_DEVICE),
    .NUM_DEVS   (NUM_DEVS),
    .NUM_VQS    (NUM_VQS)
  ) u_wr (
    .clk_i             (clk_i),
    .rst_ni            (rst_ni),
    .tx_ctrl_req_i     (tx_ctrl_req_i),
    .tx_ctrl_commit_i  (tx_ctrl_commit_i),
    .tx_ctrl_discard_i (tx_ctrl_discard_i),
    .tx_ctrl_ack_o     (tx_ctrl_ack_o),
    .tx_ctrl_err_o     (tx_ctrl_err_o),
    .tx_win_req_i      (tx_win_req_i),
    .tx_win_we_i       (tx_win_we_i),
    .tx_win_word_i     (tx_win_word_i),
    .tx_win_wdata_i    (tx_win_wdata_i),
    .tx_win_wmask_i    (tx_win_wmask_i),
    .tx_win_rd_ack_o   (tx_win_rd_ack_o),
    .tx_win_wr_ack_o   (tx_win_wr_ack_o),
    .tx_win_err_o      (tx_win_err_o),
    .tx_staged_len_o   (tx_staged_len_o),
    .tx_err_code_o     (tx_err_code_o),
    .tx_rej_o          (tx_rej_o),
    .tx_overflow_o     (tx_overflow_o),
    .tx_err_irq_o      (tx_err_irq_o),
    .kick_valid_o      (kick_valid_o),
    .kick_dev_o        (kick_dev_o),
    .kick_vq_o         (kick_vq_o),
    .kick_data_o       (kick_data_o),
    .full_i            (full),
    .pop_i             (pop),
    .slot_we_o         (slot_we),
    .slot_widx_o       (slot_widx),
    .slot_wdata_o      (slot_wdata),
    .slot_wbe_o        (slot_wbe),
    .push_o            (push),
    .push_len_o        (push_len),
    .push_hdr_o        (push_hdr)
  );

  vmsg_mbox_slots #(
    .MSG_SIZE (MSG_SIZE),
    .DEPTH    (DEPTH)
  ) u_slots (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .wr_we_i    (slot_we),
    .wr_widx_i  (slot_widx),
    .wr_wdata_i (slot_wdata),
    .wr_wbe_i   (slot_wbe),
    .push_i     (push),
    .push_len_i (push_len),
    .push_hdr_i (push_hdr),
    .rd_re_i    (rd_re),
    .rd_widx_i  (rd_widx),
    .rd_data_o  (rd_data),
    .pop_i      (pop),
    .count_o      (count),
    .count_next_o (count_next),
    .full_o     (full),
    .head_len_o (head_len),
    .head_hdr_o (head_hdr)
  );

  vmsg_mbox_rd #(
    .HDR_FORMAT (HDR_FORMAT),
    .MSG_SIZE   (MSG_SIZE),
    .TO_DEVICE  (TO_DEVICE)
  ) u_rd (
    .clk_i           (clk_i),
    .rst_ni          (rst_ni),
    .rx_ctrl_req_i   (rx_ctrl_req_i),
    .rx_ctrl_pop_i   (rx_ctrl_pop_i),
    .rx_ctrl_ack_o   (rx_ctrl_ack_o),
    .rx_ctrl_err_o   (rx_ctrl_err_o),
    .rx_win_req_i    (rx_win_req_i),
    .rx_win_we_i     (rx_win_we_i),
    .rx_win_word_i   (rx_win_word_i),
    .rx_win_rd_ack_o (rx_win_rd_ack_o),
    .rx_win_wr_ack_o (rx_win_wr_ack_o),
    .rx_win_rdata_o  (rx_win_rdata_o),
    .rx_win_err_o    (rx_win_err_o),
    .rx_count_o      (rx_count_o),
    .rx_empty_o      (rx_empty_o),
    .rx_head_len_o   (rx_head_len_o),
    .rx_popped_o     (rx_popped_o),
    .rx_underflow_o  (rx_underflow_o),
    .rx_msg_irq_o    (rx_msg_irq_o),
    .evt_valid_i     (evt_valid_i),
    .evt_ready_o     (evt_ready_o),
    .evt_dev_id_i    (evt_dev_id_i),
    .evt_vq_i        (evt_vq_i),
    .count_i         (count),
    .count_next_i    (count_next),
    .push_i          (push),
    .head_len_i      (head_len),
    .head_hdr_i      (head_hdr),
    .pop_o           (pop),
    .rd_re_o         (rd_re),
    .rd_widx_o       (rd_widx),
    .rd_data_i       (rd_data)
  );

  assign tx_count_o    = count;
  assign tx_full_o     = full;
  assign tx_accepted_o = push;
  assign tx_doorbell_o = kick_valid_o;

endmodule

`default_nettype wire
