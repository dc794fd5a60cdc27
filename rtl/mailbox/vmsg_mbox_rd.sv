// Reader of one mailbox direction (docs/architecture.md, "Mailbox"): the RX
// window, RX_CTRL and RX_STATUS of the port that receives.
//
// The head is latched in head_sel_q: the slot FIFO's oldest message, or (to
// the driver only) an EVENT_USED event taken from the event input, chosen
// round-robin when both wait, except that a FIFO message committed after the
// waiting event arrived never becomes head before it (so an event is read
// before any message the device side commits after it was presented, e.g. the
// answer to a reset of its queue). The RX window reads the head; POP releases
// it. An event chosen as head is taken from the event input in the next cycle
// (evt_ready_o comes from a flop, the claim): the head is HEAD_EVT from the
// cycle it is chosen, its dev_id and vq are latched at the take, and the event
// input counts as empty for the head choice in between.
//
// Timing: every request from the register block is registered on entry; acks
// and read data are registered on the way out (the RAM's output is slow:
// nothing follows it in the same cycle). Acks come two cycles after the
// request, four for window reads that return a word (RAM read, its output
// register, the output register here). The head choice uses the writer's
// push_i of the same cycle (a message pushed while nothing is head is head in
// the next cycle) and the slot FIFO's count_i; a pop is processed in the cycle
// of the registered request, and a push in that cycle is seen by the FIFO's
// count from the next.
//
// count_i, count_next_i and push_i are the slot FIFO's count (now and after this cycle)
// and the writer's push to it;
// pop_o and rd_re_o/rd_widx_o drive the slot FIFO (rd_data_i two cycles later).

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_mbox_rd
  import vmsg_pkg::*;
#(
  parameter int unsigned HDR_FORMAT = HDR_SEED6,  // HDR_SEED6 (6-byte header) or HDR_HDR8 (8-byte)
  parameter int unsigned MSG_SIZE  = 64,    // bytes per slot: multiple of 4, 8..256
  parameter bit          TO_DEVICE = 1'b1,  // 1: the device reads (no event input); 0: the driver
  localparam int unsigned WORDS    = MSG_SIZE / 4,
  localparam int unsigned WIDX_W   = $clog2(WORDS),
  localparam int unsigned CNT_W    = 9
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,

  // RX_CTRL (external register; writes only)
  input  wire logic              rx_ctrl_req_i,
  input  wire logic              rx_ctrl_pop_i,       // POP bit written as 1
  output      logic              rx_ctrl_ack_o,
  output      logic              rx_ctrl_err_o,
  // RX_MSG window (64 words)
  input  wire logic              rx_win_req_i,
  input  wire logic              rx_win_we_i,
  input  wire logic [5:0]        rx_win_word_i,       // word within the window
  output      logic              rx_win_rd_ack_o,
  output      logic              rx_win_wr_ack_o,
  output      logic [31:0]       rx_win_rdata_o,
  output      logic              rx_win_err_o,
  // RX_STATUS
  output      logic [CNT_W-1:0]  rx_count_o,
  output      logic              rx_empty_o,
  output      logic [8:0]        rx_head_len_o,
  // one-cycle pulses
  output      logic              rx_popped_o,
  output      logic              rx_underflow_o,
  output      logic              rx_msg_irq_o,        // RX_MSG interrupt

  // event input (TO_DEVICE = 0): EVENT_USED from the used-index engine
  input  wire logic              evt_valid_i,
  output      logic              evt_ready_o,
  input  wire logic [15:0]       evt_dev_id_i,
  input  wire logic [15:0]       evt_vq_i,

  // slot FIFO
  input  wire logic [CNT_W-1:0]  count_i,             // messages queued
  input  wire logic [CNT_W-1:0]  count_next_i,        // ... after this cycle (push_i, pop_o)
  input  wire logic              push_i,              // the writer queues one in this cycle
  input  wire logic [8:0]        head_len_i,          // HEAD_LEN of the oldest queued message
  input  wire logic [63:0]       head_hdr_i,          // its first 8 bytes (waveform tap)
  output      logic              pop_o,               // the oldest queued message leaves
  output      logic              rd_re_o,             // read one word of it
  output      logic [WIDX_W-1:0] rd_widx_o,
  input  wire logic [31:0]       rd_data_i            // two cycles after rd_re_o
);

  if (MSG_SIZE % 4 != 0 || MSG_SIZE < 8 || MSG_SIZE > VMSG_MAX_SLOT) begin : g_bad_params
    $fatal(1, "vmsg_mbox_rd: MSG_SIZE %0d (multiple of 4, 8..256) out of range", MSG_SIZE);
  end

  typedef enum logic [1:0] {
    HEAD_NONE,  // nothing to read
    HEAD_FIFO,  // the head is the FIFO slot at the read pointer
    HEAD_EVT    // the head is the latched event (to driver only)
  } head_e;

  // ---------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------
  head_e             head_sel_q, head_sel_d;
  logic              rr_evt_q, rr_evt_d;         // prefer the event input next time
  logic              evt_wait_q, evt_wait_d;     // an event waits at the input (not head yet)
  logic [CNT_W-1:0]  evt_older_q, evt_older_d;   // FIFO messages older than it, not head yet
  logic              evt_claim_q, evt_claim_d;   // the event input is head, take it now
  logic [15:0]       evt_dev_q, evt_vq_q;        // latched event head
  logic              rd_ram_q;                   // window read, RAM read issued
  logic              rd_pend_q;                  // window read, data next cycle
  // Kind and word of the window read in flight, kept until its ack (no reader request comes
  // before it: a_rx_ack_pending).
  logic              rd_evt_q;                   // ... of the event head
  logic [1:0]        rd_word_q;                  // ... at this word (event words 0..2)
  // Waveform tap: the first 8 bytes (the header) of the head message. Nothing
  // reads it, so synthesis removes it; the waveform view (sim/vmsgsim/waves.py)
  // decodes it.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0]       head_hdr;
  /* verilator lint_on UNUSEDSIGNAL */

  // ---------------------------------------------------------------------------
  // Requests, registered on entry
  // ---------------------------------------------------------------------------
  logic        rx_ctrl_req, rx_ctrl_pop;
  logic        rx_win_req, rx_win_we;
  logic [5:0]  rx_win_word;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rx_ctrl_req <= 1'b0;
      rx_ctrl_pop <= 1'b0;
      rx_win_req  <= 1'b0;
      rx_win_we   <= 1'b0;
      rx_win_word <= '0;
    end else begin
      rx_ctrl_req <= rx_ctrl_req_i;
      rx_ctrl_pop <= rx_ctrl_pop_i;
      rx_win_req  <= rx_win_req_i;
      rx_win_we   <= rx_win_we_i;
      rx_win_word <= rx_win_word_i;
    end
  end

  // ---------------------------------------------------------------------------
  // Head selection and pop
  // ---------------------------------------------------------------------------
  logic pop, pop_fifo, underflow;
  assign pop       = rx_ctrl_req && rx_ctrl_pop && (head_sel_q != HEAD_NONE);
  assign underflow = rx_ctrl_req && rx_ctrl_pop && (head_sel_q == HEAD_NONE);
  assign pop_fifo  = pop && (head_sel_q == HEAD_FIFO);

  // the slot FIFO's count after this cycle
  logic [CNT_W-1:0] count_d;
  assign count_d = count_next_i;

  // A new head is chosen in the cycle the old one is popped (or when there
  // was none), from the FIFO as it is after this cycle and the event input.
  logic head_free, fifo_avail, evt_avail, evt_take;
  assign head_free  = (head_sel_q == HEAD_NONE) || pop;
  // count_d != 0, without the adder in front of the event handshake
  assign fifo_avail = push_i || (count_i > CNT_W'(1)) || (count_i == CNT_W'(1) && !pop_fifo);
  // an event at the input that is not already the head (claimed, taken this cycle)
  assign evt_avail  = !TO_DEVICE && evt_valid_i && !evt_claim_q;

  // A waiting event with no older FIFO message left goes first (all registered state).
  logic evt_first;
  assign evt_first = evt_wait_q && (evt_older_q == '0);

  always_comb begin
    head_sel_d = head_sel_q;
    rr_evt_d   = rr_evt_q;
    if (head_free) begin
      if (fifo_avail && evt_avail && evt_first) begin
        head_sel_d = HEAD_EVT;
        rr_evt_d   = 1'b0;
      end else if (fifo_avail && evt_avail) begin
        head_sel_d = rr_evt_q ? HEAD_EVT : HEAD_FIFO;
        rr_evt_d   = !rr_evt_q;
      end else if (fifo_avail) begin
        head_sel_d = HEAD_FIFO;
      end else if (evt_avail) begin
        head_sel_d = HEAD_EVT;
      end else begin
        head_sel_d = HEAD_NONE;
      end
    end
  end

  // evt_take: the waiting event becomes head (its claim); it is taken from the input, with
  // evt_ready_o from the claim's flop, in the next cycle. No handshake or request of this
  // cycle reaches evt_ready_o.
  assign evt_take    = head_free && (head_sel_d == HEAD_EVT);
  assign evt_claim_d = evt_take;
  assign evt_ready_o = evt_claim_q;

  // FIFO messages older than the waiting event: those not yet head when it arrived (a
  // message pushed in its arrival cycle counts as older); each that becomes head while the
  // event waits is one fewer. Messages pushed later never count.
  assign evt_wait_d = evt_avail && !evt_take;
  always_comb begin
    evt_older_d = evt_older_q;
    if (!evt_wait_q)
      evt_older_d = count_d - CNT_W'(head_sel_d == HEAD_FIFO);
    else if (head_free && (head_sel_d == HEAD_FIFO) && (evt_older_q != '0))
      evt_older_d = evt_older_q - CNT_W'(1);
  end

  // ---------------------------------------------------------------------------
  // Window reads: SLVERR and 0 beyond MSG_SIZE or while empty, else the head
  // word two cycles later (the slot FIFO's RAM read and its output register,
  // or the synthesized EVENT_USED message).
  // ---------------------------------------------------------------------------
  logic rx_rd, rx_rd_ok;
  assign rx_rd     = rx_win_req && !rx_win_we;
  assign rx_rd_ok  = rx_rd && (32'(rx_win_word) < WORDS) && (head_sel_q != HEAD_NONE);
  assign rd_re_o   = rx_rd_ok && (head_sel_q == HEAD_FIFO);
  assign rd_widx_o = rx_win_word[WIDX_W-1:0];
  assign pop_o     = pop_fifo;

  // EVENT_USED as a message: type 0x00, msg_id 0x42, dev_id, index u32 = vq;
  // everything else zero. 6-byte header: msg_size 10, index at byte 6;
  // 8-byte header: token 0, msg_size 12, index at byte 8.
  function automatic logic [31:0] evt_msg_word(logic [1:0] w, logic [15:0] dev, logic [15:0] vq);
    if (HDR_FORMAT == HDR_HDR8) begin
      unique case (w)
        2'd0:    return {dev, MSG_EVENT_USED, TYPE_TRANSPORT_REQ};
        2'd1:    return {EVENT_USED_SIZE8, 16'h0000};   // msg_size, token 0
        2'd2:    return {16'h0000, vq};
        default: return '0;
      endcase
    end else begin
      unique case (w)
        2'd0:    return {dev, MSG_EVENT_USED, TYPE_TRANSPORT_REQ};
        2'd1:    return {vq, EVENT_USED_SIZE};
        default: return '0;
      endcase
    end
  endfunction
  logic [31:0] evt_word;
  assign evt_word = evt_msg_word(rd_word_q, evt_dev_q, evt_vq_q);

  // Acks and read data, registered on the way out.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rx_win_rd_ack_o <= 1'b0;
      rx_win_wr_ack_o <= 1'b0;
      rx_win_err_o    <= 1'b0;
      rx_win_rdata_o  <= '0;
      rx_ctrl_ack_o   <= 1'b0;
      rx_ctrl_err_o   <= 1'b0;
    end else begin
      rx_win_rd_ack_o <= (rx_rd && !rx_rd_ok) || rd_pend_q;
      rx_win_wr_ack_o <= rx_win_req && rx_win_we;     // read-only window
      rx_win_err_o    <= rx_win_req && !rx_rd_ok;
      rx_win_rdata_o  <= !rd_pend_q ? '0 : rd_evt_q ? evt_word : rd_data_i;
      rx_ctrl_ack_o   <= rx_ctrl_req;
      rx_ctrl_err_o   <= underflow;
    end
  end
  assign rx_popped_o    = pop;
  assign rx_underflow_o = underflow;
  assign rx_msg_irq_o   = push_i || evt_take;

  assign rx_count_o = count_i + CNT_W'(head_sel_q == HEAD_EVT);
  assign rx_empty_o = (head_sel_q == HEAD_NONE);
  always_comb begin
    unique case (head_sel_q)
      HEAD_FIFO: rx_head_len_o = head_len_i;
      HEAD_EVT:  rx_head_len_o = EVENT_USED_LEN;
      default:   rx_head_len_o = '0;
    endcase
  end
  always_comb begin
    unique case (head_sel_q)
      HEAD_FIFO: head_hdr = head_hdr_i;
      HEAD_EVT:  head_hdr = evt_claim_q
                   ? {evt_msg_word(2'd1, evt_dev_id_i, evt_vq_i), evt_msg_word(2'd0, evt_dev_id_i, evt_vq_i)}
                   : {evt_msg_word(2'd1, evt_dev_q, evt_vq_q), evt_msg_word(2'd0, evt_dev_q, evt_vq_q)};
      default:   head_hdr = '0;
    endcase
  end

  // ---------------------------------------------------------------------------
  // Registers
  // ---------------------------------------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      head_sel_q  <= HEAD_NONE;
      rr_evt_q    <= 1'b0;
      evt_wait_q  <= 1'b0;
      evt_older_q <= '0;
      evt_claim_q <= 1'b0;
      evt_dev_q   <= '0;
      evt_vq_q    <= '0;
      rd_ram_q    <= 1'b0;
      rd_pend_q   <= 1'b0;
      rd_evt_q    <= 1'b0;
      rd_word_q   <= '0;
    end else begin
      head_sel_q  <= head_sel_d;
      rr_evt_q    <= rr_evt_d;
      evt_wait_q  <= evt_wait_d;
      evt_older_q <= evt_older_d;
      evt_claim_q <= evt_claim_d;
      if (evt_claim_q) begin
        evt_dev_q <= evt_dev_id_i;
        evt_vq_q  <= evt_vq_i;
      end
      rd_ram_q  <= rx_rd_ok;
      rd_pend_q <= rd_ram_q;
      if (rx_rd_ok) begin
        rd_evt_q  <= (head_sel_q == HEAD_EVT);
        rd_word_q <= (rx_win_word > 6'd2) ? 2'd3 : rx_win_word[1:0];
      end
    end
  end

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  // ---- input rules ----
  // The register block sends no request to this side while a window read is pending (stated
  // on the registered copies of its requests); other requests may follow each other in
  // consecutive cycles.
  `VMSG_ASSUME(a_rx_ack_pending, (rd_ram_q || rd_pend_q) -> !rx_win_req && !rx_ctrl_req,
    ("vmsg_mbox_rd: reader request while a window read is pending"))
  // The event producer holds a waiting event stable.
  `VMSG_ASSUME(a_evt_stable,
      $past(!TO_DEVICE && evt_valid_i && !evt_ready_o) -> evt_valid_i && $stable(evt_dev_id_i)
        && $stable(evt_vq_i),
    ("vmsg_mbox_rd: event input dropped or changed before ready"))

  // ---- head ----
  // An event that waits with no older FIFO message left is the next head.
  `VMSG_ASSERT(a_evt_before_younger, head_free && evt_first && evt_avail -> head_sel_d == HEAD_EVT,
    ("vmsg_mbox_rd: a FIFO message younger than the waiting event became head first"))
  // with count_i the slot FIFO's count, moved only by push_i and pop_o
  `VMSG_ASSERT(a_head_fifo, (head_sel_q == HEAD_NONE) -> count_i == '0,
    ("vmsg_mbox_rd: queued message but no head"))
  `VMSG_ASSERT(a_head_fifo_nonempty, (head_sel_q == HEAD_FIFO) -> count_i != '0,
    ("vmsg_mbox_rd: FIFO head of an empty FIFO"))
  `VMSG_ASSERT(a_evt_only_to_drv, TO_DEVICE -> head_sel_q != HEAD_EVT && !evt_ready_o,
    ("vmsg_mbox_rd: event head in the to-device mailbox"))
  `VMSG_ASSERT(a_evt_ready_valid, evt_ready_o -> evt_valid_i,
    ("vmsg_mbox_rd: evt_ready without evt_valid"))
  `VMSG_ASSERT(a_evt_claim_head, evt_claim_q -> head_sel_q == HEAD_EVT,
    ("vmsg_mbox_rd: event taken that is not the head"))
  `VMSG_ASSERT(a_fifo_avail, fifo_avail == (count_d != '0),
    ("vmsg_mbox_rd: FIFO availability out of step with the count"))
`endif

endmodule

`default_nettype wire
