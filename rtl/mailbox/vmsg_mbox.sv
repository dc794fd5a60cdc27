// One direction of the virtio-msg mailbox (docs/architecture.md, "Mailbox").
//
// Storage is a vmsg_sdp_ram of (DEPTH + 1) slots of MSG_SIZE bytes. The slot
// at the write pointer is always the writer's staging slot and never part of
// the queue, so a message can be staged while the FIFO is full.
//
// Writer (TX): window writes land in the staging slot and set the word's bit
// in a written-mask; shadows of bytes 0..13 (0..15 with the 8-byte header)
// feed the framing check. A
// commit that passes it zero-fills the words not written (one per cycle, the
// ack waits), records the written length and advances the write pointer.
// To the device, an EVENT_AVAIL that passes is sent to the doorbells instead.
//
// Reader (RX): the head is latched in head_sel_q: a FIFO slot, or (to the
// driver only) an EVENT_USED event taken from the event input, chosen
// round-robin when both wait, except that a FIFO message committed after the
// waiting event arrived never becomes head before it (so an event is read
// before any message the device side commits after it was presented, e.g.
// the answer to a reset of its queue). The RX window reads the head; POP
// releases it. An event chosen as head is taken from the event input in the
// next cycle (evt_ready_o comes from a flop, the claim): the head is HEAD_EVT
// from the cycle it is chosen, its dev_id and vq are latched at the take, and
// the event input counts as empty for the head choice in between.
//
// Timing: every request from the register blocks is registered on entry and
// the framing check result is registered too, so that neither the register
// decode nor the check is in series with the mailbox logic; the acks, errors
// and read data are registered on the way out, so that the mailbox logic is
// not in series with the register block's ack and read-back logic either.
// Acks therefore come two cycles after the request at the earliest, four for
// window reads (the register block allows any latency). The check sees the
// staged header and the FIFO count of the previous cycle: a TX_CTRL request
// that arrives in the cycle after a window write (or a commit, discard or
// zero fill) or after a pop of a FIFO message by the reader waits one cycle
// for it, so no spacing of requests on either port is assumed; an assertion
// checks that a commit never uses a stale check. A commit processed in the
// same cycle as a pop sees the FIFO as it was before that pop.

`default_nettype none

`include "vmsg_assert.svh"

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

  // ---------------------------------------------------------------------------
  // Sizes
  // ---------------------------------------------------------------------------
  localparam int unsigned WORDS     = MSG_SIZE / 4;            // words per slot
  localparam int unsigned SLOTS     = DEPTH + 1;               // queue + staging slot
  localparam int unsigned RAM_WORDS = SLOTS * WORDS;
  localparam int unsigned RAM_AW    = $clog2(RAM_WORDS);
  localparam int unsigned SLOT_W    = $clog2(SLOTS);
  localparam int unsigned WIDX_W    = $clog2(WORDS);           // word index within a slot
  localparam int unsigned CNT_W     = 9;                       // counts up to 255 (+1 event)
  localparam int unsigned SHB       = shadow_bytes(HDR_FORMAT); // staged bytes the check sees

  localparam logic [RAM_AW-1:0] SLOT_STRIDE = RAM_AW'(WORDS);
  localparam logic [SLOT_W-1:0] LAST_SLOT   = SLOT_W'(SLOTS - 1);
  localparam logic [CNT_W-1:0]  DEPTH_CNT   = CNT_W'(DEPTH);

  if (MSG_SIZE % 4 != 0 || MSG_SIZE < slot_min(HDR_FORMAT) || MSG_SIZE > VMSG_MAX_SLOT
      || DEPTH < 2 || DEPTH > 255) begin : g_bad_params
    $fatal(1, "vmsg_mbox: MSG_SIZE %0d (multiple of 4, %0d..256) or DEPTH %0d (2..255) out of range",
           MSG_SIZE, slot_min(HDR_FORMAT), DEPTH);
  end

  typedef enum logic [1:0] {
    HEAD_NONE,  // nothing to read
    HEAD_FIFO,  // the head is the FIFO slot at the read pointer
    HEAD_EVT    // the head is the latched event (to driver only)
  } head_e;

  // ---------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------
  // writer
  logic [WORDS-1:0]          mask_q, mask_d;             // words written since accept/discard
  logic [SHB*8-1:0]          shadow_q, shadow_d;         // staged bytes 0..SHB-1
  logic [8:0]                staged_len_q, staged_len_d; // highest written word + 1, times 4
  logic [SLOT_W-1:0]         wr_slot_q;
  logic [RAM_AW-1:0]         wr_base_q;                  // first RAM word of the staging slot
  logic                      fill_q, fill_d;             // zero-filling for an accepted commit
  vmsg_err_e                 err_code_q, err_code_d;
  // shared
  logic [CNT_W-1:0]          count_q, count_d;           // messages queued in the RAM
  // reader
  logic [SLOT_W-1:0]         rd_slot_q;
  logic [RAM_AW-1:0]         rd_base_q;
  head_e                     head_sel_q, head_sel_d;
  logic                      rr_evt_q, rr_evt_d;         // prefer the event input next time
  logic                      evt_wait_q, evt_wait_d;     // an event waits at the input (not head yet)
  logic [CNT_W-1:0]          evt_older_q, evt_older_d;   // FIFO messages older than it, not head yet
  logic                      evt_claim_q, evt_claim_d;   // the event input is head, take it now
  logic [15:0]               evt_dev_q, evt_vq_q;        // latched event head
  logic                      rd_ram_q;                   // window read, RAM read issued
  logic                      rd_pend_q;                  // window read, data next cycle
  // Kind and word of the window read in flight, kept until its ack (no reader request comes
  // before it: a_rx_ack_pending).
  logic                      rd_evt_q;                   // ... of the event head
  logic [1:0]                rd_word_q;                  // ... at this word (event words 0..2)
  // HEAD_LEN of each slot, written at push
  logic [8:0]                len_q [SLOTS];
  // Waveform tap: the first 8 bytes (the header) of each queued slot, and of
  // the head message. Nothing reads it, so synthesis removes it; the
  // waveform view (sim/vmsgsim/waves.py) decodes it.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0]               hdr_q [SLOTS];
  logic [63:0]               head_hdr;
  /* verilator lint_on UNUSEDSIGNAL */

  // ---------------------------------------------------------------------------
  // Framing check of the staged message
  // ---------------------------------------------------------------------------
  vmsg_err_e   chk_code, chk_code_q;
  logic        chk_doorbell, chk_doorbell_q;
  logic [15:0] chk_dev, kick_dev_q;
  logic [31:0] chk_vq, chk_data, kick_data_q;
  logic [15:0] kick_vq_q;

  vmsg_mbox_check #(
    .HDR_FORMAT(HDR_FORMAT),
    .MSG_SIZE  (MSG_SIZE),
    .TO_DEVICE (TO_DEVICE),
    .NUM_DEVS  (NUM_DEVS),
    .NUM_VQS   (NUM_VQS)
  ) u_check (
    .hdr_i       (shadow_q),
    .full_i      (count_q == DEPTH_CNT),
    .code_o      (chk_code),
    .doorbell_o  (chk_doorbell),
    .kick_dev_o  (chk_dev),
    .kick_vq_o   (chk_vq),
    .kick_data_o (chk_data)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      chk_code_q     <= ERR_NONE;
      chk_doorbell_q <= 1'b0;
      kick_dev_q     <= '0;
      kick_vq_q      <= '0;
      kick_data_q    <= '0;
    end else begin
      chk_code_q     <= chk_code;
      chk_doorbell_q <= chk_doorbell;
      kick_dev_q     <= chk_dev;
      // The range check bounds index by NUM_VQS (<= 1024), so 16 bits carry it.
      kick_vq_q      <= chk_vq[15:0];
      kick_data_q    <= chk_data;
    end
  end
  assign kick_dev_o  = kick_dev_q;
  assign kick_vq_o   = kick_vq_q;
  assign kick_data_o = kick_data_q;
  logic unused_chk_vq;
  assign unused_chk_vq = ^chk_vq[31:16];

  // ---------------------------------------------------------------------------
  // Requests, registered on entry
  // ---------------------------------------------------------------------------
  logic        tx_ctrl_req, tx_ctrl_commit, tx_ctrl_discard;
  logic        tx_ctrl_hold;  // TX_CTRL request waits one cycle: the check is stale
  logic        tx_ctrl_go;    // TX_CTRL request processed now
  logic        tx_win_req, tx_win_we;
  logic [5:0]  tx_win_word;
  logic [31:0] tx_win_wdata, tx_win_wmask;
  logic        rx_ctrl_req, rx_ctrl_pop;
  logic        rx_win_req, rx_win_we;
  logic [5:0]  rx_win_word;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tx_ctrl_req     <= 1'b0;
      tx_ctrl_commit  <= 1'b0;
      tx_ctrl_discard <= 1'b0;
      tx_win_req      <= 1'b0;
      tx_win_we       <= 1'b0;
      tx_win_word     <= '0;
      tx_win_wdata    <= '0;
      tx_win_wmask    <= '0;
      rx_ctrl_req     <= 1'b0;
      rx_ctrl_pop     <= 1'b0;
      rx_win_req      <= 1'b0;
      rx_win_we       <= 1'b0;
      rx_win_word     <= '0;
    end else begin
      // A TX_CTRL request held for a fresh framing check keeps its bits.
      tx_ctrl_req     <= tx_ctrl_req_i || tx_ctrl_hold;
      if (!tx_ctrl_hold) begin
        tx_ctrl_commit  <= tx_ctrl_commit_i;
        tx_ctrl_discard <= tx_ctrl_discard_i;
      end
      tx_win_req      <= tx_win_req_i;
      tx_win_we       <= tx_win_we_i;
      tx_win_word     <= tx_win_word_i;
      tx_win_wdata    <= tx_win_wdata_i;
      tx_win_wmask    <= tx_win_wmask_i;
      rx_ctrl_req     <= rx_ctrl_req_i;
      rx_ctrl_pop     <= rx_ctrl_pop_i;
      rx_win_req      <= rx_win_req_i;
      rx_win_we       <= rx_win_we_i;
      rx_win_word     <= rx_win_word_i;
    end
  end

  // ---------------------------------------------------------------------------
  // Writer: window writes, commit, discard, zero fill
  // ---------------------------------------------------------------------------
  logic [5:0]        tx_word;       // word of the window access
  logic [WIDX_W-1:0] tx_widx;
  logic              tx_in_range;
  logic              win_wr;        // a window write into the staging slot
  logic [3:0]        win_be;
  logic [8:0]        win_len;       // staged length if this is the highest word
  assign tx_word     = tx_win_word;
  assign tx_widx     = tx_word[WIDX_W-1:0];
  assign tx_in_range = 32'(tx_word) < WORDS;
  assign win_wr      = tx_win_req && tx_win_we && tx_in_range;
  assign win_len     = {1'b0, tx_word, 2'b00} + 9'd4;
  always_comb begin
    for (int unsigned b = 0; b < 4; b++) win_be[b] = |tx_win_wmask[b*8 +: 8];
  end

  // Lowest word not written yet: the next word the zero fill writes.
  logic [WIDX_W-1:0] fill_idx;
  always_comb begin
    fill_idx = '0;
    for (int i = int'(WORDS) - 1; i >= 0; i--) begin
      if (!mask_q[i]) fill_idx = WIDX_W'(i);
    end
  end

  // The framing check result (chk_code_q) describes the staged message and the
  // FIFO count of the previous cycle. A TX_CTRL request that comes in the
  // cycle after the staged message or the count changed (stg_chg_q: a window
  // write, discard, push, doorbell, zero fill, or a pop of a FIFO message on
  // the reader side, which makes a full FIFO not full) waits one cycle, so
  // that a commit always sees the check of the message and the FIFO as they
  // are now, however closely requests on either port follow each other.
  logic stg_chg_q;
  logic pop, pop_fifo, underflow;   // reader side (below)
  assign tx_ctrl_hold = tx_ctrl_req && stg_chg_q;
  assign tx_ctrl_go   = tx_ctrl_req && !stg_chg_q;

  logic commit, discard, accept_now, push, reject, kick;
  assign commit     = tx_ctrl_go && tx_ctrl_commit && !fill_q;
  // COMMIT and DISCARD written together: the commit is done, DISCARD ignored.
  assign discard    = tx_ctrl_go && tx_ctrl_discard && !tx_ctrl_commit && !fill_q;
  assign reject     = commit && (chk_code_q != ERR_NONE);
  assign kick       = commit && chk_doorbell_q;
  assign accept_now = commit && (chk_code_q == ERR_NONE) && !chk_doorbell_q;
  // Push when every word of the slot holds data of this message: at once if
  // all were written, else at the end of the zero fill.
  assign push       = (accept_now || fill_q) && (&mask_q);

  // RAM write port: the zero fill, or a window write.
  logic                ram_we;
  logic [RAM_AW-1:0]   ram_waddr;
  logic [31:0]         ram_wdata;
  logic [3:0]          ram_wbe;
  always_comb begin
    if (fill_q) begin
      ram_we    = !(&mask_q);
      ram_waddr = wr_base_q + RAM_AW'(fill_idx);
      ram_wdata = '0;
      ram_wbe   = 4'hF;
    end else begin
      ram_we    = win_wr;
      ram_waddr = wr_base_q + RAM_AW'(tx_widx);
      // The first write to a word since the last accept/discard writes all
      // four bytes (unstrobed ones as zero), so that no byte of an earlier
      // message survives in a partly written word.
      if (mask_q[tx_widx]) begin
        ram_wdata = tx_win_wdata;
        ram_wbe   = win_be;
      end else begin
        ram_wdata = tx_win_wdata & tx_win_wmask;
        ram_wbe   = 4'hF;
      end
    end
  end

  always_comb begin
    mask_d       = mask_q;
    shadow_d     = shadow_q;
    staged_len_d = staged_len_q;
    fill_d       = fill_q;
    err_code_d   = err_code_q;

    if (fill_q) begin
      if (ram_we) mask_d[fill_idx] = 1'b1;
    end else if (win_wr) begin
      mask_d[tx_widx] = 1'b1;
      for (int unsigned k = 0; k < SHB; k++) begin
        if (32'(tx_word) == k / 4 && win_be[k % 4]) begin
          shadow_d[k*8 +: 8] = tx_win_wdata[(k % 4)*8 +: 8];
        end
      end
      if (staged_len_q < win_len) staged_len_d = win_len;
    end

    if (accept_now && !(&mask_q)) fill_d = 1'b1;
    if (reject) err_code_d = chk_code_q;

    // Accepted, doorbell or discard: the next message starts from zero.
    if (push || kick || discard) begin
      mask_d       = '0;
      shadow_d     = '0;
      staged_len_d = '0;
      fill_d       = 1'b0;
    end
  end

  // Writer acks: an accepted commit waits for the zero fill; everything else
  // answers in the cycle of the (registered) request. Registered on the way out.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) stg_chg_q <= 1'b0;
    else         stg_chg_q <= win_wr || discard || push || kick || fill_q || pop_fifo;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tx_ctrl_ack_o   <= 1'b0;
      tx_ctrl_err_o   <= 1'b0;
      tx_win_wr_ack_o <= 1'b0;
      tx_win_rd_ack_o <= 1'b0;
      tx_win_err_o    <= 1'b0;
    end else begin
      tx_ctrl_ack_o   <= (tx_ctrl_go && !accept_now) || push;
      tx_ctrl_err_o   <= reject;
      tx_win_wr_ack_o <= tx_win_req && tx_win_we;
      tx_win_rd_ack_o <= tx_win_req && !tx_win_we;   // write-only window
      tx_win_err_o    <= tx_win_req && (!tx_win_we || !tx_in_range);
    end
  end

  assign tx_count_o      = count_q;
  assign tx_full_o       = (count_q == DEPTH_CNT);
  assign tx_staged_len_o = staged_len_q;
  assign tx_err_code_o   = err_code_q;
  assign tx_accepted_o   = push;
  always_comb begin
    for (int unsigned c = 1; c <= 6; c++) tx_rej_o[c] = reject && (chk_code_q == vmsg_err_e'(c));
  end
  assign tx_overflow_o   = reject && (chk_code_q == ERR_OVERFLOW);
  assign tx_doorbell_o   = kick;
  assign tx_err_irq_o    = reject;
  assign kick_valid_o    = kick;

  // ---------------------------------------------------------------------------
  // Reader: head selection, pop, window reads
  // ---------------------------------------------------------------------------
  assign pop       = rx_ctrl_req && rx_ctrl_pop && (head_sel_q != HEAD_NONE);
  assign underflow = rx_ctrl_req && rx_ctrl_pop && (head_sel_q == HEAD_NONE);
  assign pop_fifo  = pop && (head_sel_q == HEAD_FIFO);

  assign count_d = count_q + CNT_W'(push) - CNT_W'(pop_fifo);

  // A new head is chosen in the cycle the old one is popped (or when there
  // was none), from the FIFO as it is after this cycle and the event input.
  logic head_free, fifo_avail, evt_avail, evt_take;
  assign head_free  = (head_sel_q == HEAD_NONE) || pop;
  // count_d != 0, without the adder in front of the event handshake
  assign fifo_avail = push || (count_q > CNT_W'(1)) || (count_q == CNT_W'(1) && !pop_fifo);
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

  // Window reads: SLVERR and 0 beyond MSG_SIZE or while empty, else the head
  // word two cycles later (RAM read and its output register, or the synthesized
  // EVENT_USED message).
  logic [5:0]        rx_word;
  logic              rx_rd, rx_rd_ok;
  assign rx_word  = rx_win_word;
  assign rx_rd    = rx_win_req && !rx_win_we;
  assign rx_rd_ok = rx_rd && (32'(rx_word) < WORDS) && (head_sel_q != HEAD_NONE);

  logic [31:0] ram_rdata;
  vmsg_sdp_ram #(
    .WORDS   (RAM_WORDS),
    .DATA_W  (32),
    .OUT_REG (1'b1)
  ) u_ram (
    .clk_i   (clk_i),
    .we_i    (ram_we),
    .waddr_i (ram_waddr),
    .wdata_i (ram_wdata),
    .wbe_i   (ram_wbe),
    .re_i    (rx_rd_ok && (head_sel_q == HEAD_FIFO)),
    .raddr_i (rd_base_q + RAM_AW'(rx_word[WIDX_W-1:0])),
    .rdata_o (ram_rdata)
  );

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

  // Reader acks and read data, registered on the way out (the RAM's output is
  // slow: nothing follows it in the same cycle).
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
      rx_win_rdata_o  <= !rd_pend_q ? '0 : rd_evt_q ? evt_word : ram_rdata;
      rx_ctrl_ack_o   <= rx_ctrl_req;
      rx_ctrl_err_o   <= underflow;
    end
  end
  assign rx_popped_o    = pop;
  assign rx_underflow_o = underflow;
  assign rx_msg_irq_o   = push || evt_take;

  assign rx_count_o    = count_q + CNT_W'(head_sel_q == HEAD_EVT);
  assign rx_empty_o    = (head_sel_q == HEAD_NONE);
  always_comb begin
    unique case (head_sel_q)
      HEAD_FIFO: rx_head_len_o = len_q[rd_slot_q];
      HEAD_EVT:  rx_head_len_o = EVENT_USED_LEN;
      default:   rx_head_len_o = '0;
    endcase
  end
  always_comb begin
    unique case (head_sel_q)
      HEAD_FIFO: head_hdr = hdr_q[rd_slot_q];
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
      mask_q       <= '0;
      shadow_q     <= '0;
      staged_len_q <= '0;
      wr_slot_q    <= '0;
      wr_base_q    <= '0;
      fill_q       <= 1'b0;
      err_code_q   <= ERR_NONE;
      count_q      <= '0;
      rd_slot_q    <= '0;
      rd_base_q    <= '0;
      head_sel_q   <= HEAD_NONE;
      rr_evt_q     <= 1'b0;
      evt_wait_q   <= 1'b0;
      evt_older_q  <= '0;
      evt_claim_q  <= 1'b0;
      evt_dev_q    <= '0;
      evt_vq_q     <= '0;
      rd_ram_q     <= 1'b0;
      rd_pend_q    <= 1'b0;
      rd_evt_q     <= 1'b0;
      rd_word_q    <= '0;
    end else begin
      mask_q       <= mask_d;
      shadow_q     <= shadow_d;
      staged_len_q <= staged_len_d;
      fill_q       <= fill_d;
      err_code_q   <= err_code_d;
      count_q      <= count_d;
      head_sel_q   <= head_sel_d;
      rr_evt_q     <= rr_evt_d;
      evt_wait_q   <= evt_wait_d;
      evt_older_q  <= evt_older_d;
      evt_claim_q  <= evt_claim_d;

      if (push) begin
        wr_slot_q <= (wr_slot_q == LAST_SLOT) ? '0 : wr_slot_q + 1'b1;
        wr_base_q <= (wr_slot_q == LAST_SLOT) ? '0 : wr_base_q + SLOT_STRIDE;
      end
      if (pop_fifo) begin
        rd_slot_q <= (rd_slot_q == LAST_SLOT) ? '0 : rd_slot_q + 1'b1;
        rd_base_q <= (rd_slot_q == LAST_SLOT) ? '0 : rd_base_q + SLOT_STRIDE;
      end
      if (evt_claim_q) begin
        evt_dev_q <= evt_dev_id_i;
        evt_vq_q  <= evt_vq_i;
      end

      rd_ram_q  <= rx_rd_ok;
      rd_pend_q <= rd_ram_q;
      if (rx_rd_ok) begin
        rd_evt_q  <= (head_sel_q == HEAD_EVT);
        rd_word_q <= (rx_word > 6'd2) ? 2'd3 : rx_word[1:0];
      end
    end
  end

  // Written length and header tap per slot: small memories, no reset (read only for queued slots).
  always_ff @(posedge clk_i) begin
    if (push) len_q[wr_slot_q] <= staged_len_q;
    if (push) hdr_q[wr_slot_q] <= shadow_q[63:0];
  end

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  // ---- FIFO bounds ----
  `VMSG_ASSERT(a_count_range, count_q <= DEPTH_CNT,
    ("vmsg_mbox: count %0d above DEPTH %0d", count_q, DEPTH))
  // a commit accepted at once sees the count as it is (nothing changed it in the cycle before,
  // stg_chg_q), and the zero fill that follows a commit keeps the room it found
  `VMSG_ASSERT(a_chk_room,
      !stg_chg_q && chk_code_q == ERR_NONE && !chk_doorbell_q -> count_q < DEPTH_CNT,
    ("vmsg_mbox: framing check passed with the FIFO full"))
  `VMSG_ASSERT(a_fill_room, fill_q -> count_q < DEPTH_CNT,
    ("vmsg_mbox: zero fill with the FIFO full"))
  `VMSG_ASSERT(a_no_push_full, push -> count_q < DEPTH_CNT,
    ("vmsg_mbox: push into a full FIFO"))
  `VMSG_ASSERT(a_no_pop_empty, pop_fifo -> count_q != '0,
    ("vmsg_mbox: pop of an empty FIFO"))
  `VMSG_ASSERT(a_slot_range, wr_slot_q <= LAST_SLOT && rd_slot_q <= LAST_SLOT
                            && 32'(wr_base_q) == 32'(wr_slot_q) * WORDS && 32'(rd_base_q) == 32'(rd_slot_q) * WORDS,
    ("vmsg_mbox: slot pointer out of range or its base word out of step"))
  `VMSG_ASSERT(a_ptrs_match_count,
      (32'(wr_slot_q) + SLOTS - 32'(rd_slot_q)) % SLOTS == 32'(count_q),
    ("vmsg_mbox: pointers disagree with count"))
  // ---- head ----
  // An event that waits with no older FIFO message left is the next head.
  `VMSG_ASSERT(a_evt_before_younger, head_free && evt_first && evt_avail -> head_sel_d == HEAD_EVT,
    ("vmsg_mbox: a FIFO message younger than the waiting event became head first"))
  `VMSG_ASSERT(a_head_fifo, (head_sel_q == HEAD_NONE) -> count_q == '0,
    ("vmsg_mbox: queued message but no head"))
  `VMSG_ASSERT(a_head_fifo_nonempty, (head_sel_q == HEAD_FIFO) -> count_q != '0,
    ("vmsg_mbox: FIFO head of an empty FIFO"))
  `VMSG_ASSERT(a_evt_only_to_drv, TO_DEVICE -> head_sel_q != HEAD_EVT && !evt_ready_o,
    ("vmsg_mbox: event head in the to-device mailbox"))
  `VMSG_ASSERT(a_evt_ready_valid, evt_ready_o -> evt_valid_i,
    ("vmsg_mbox: evt_ready without evt_valid"))
  `VMSG_ASSERT(a_evt_claim_head, evt_claim_q -> head_sel_q == HEAD_EVT,
    ("vmsg_mbox: event taken that is not the head"))
  // The event producer holds a waiting event stable.
  `VMSG_ASSUME(a_evt_stable,
      $past(!TO_DEVICE && evt_valid_i && !evt_ready_o) -> evt_valid_i && $stable(evt_dev_id_i)
        && $stable(evt_vq_i),
    ("vmsg_mbox: event input dropped or changed before ready"))
  // ---- request / ack ----
  // the register block sends the next request to a side after the ack of the one before (stated
  // on the registered copies of its requests)
  `VMSG_ASSUME(a_no_req_in_fill, fill_q -> !tx_ctrl_req && !tx_win_req,
    ("vmsg_mbox: writer request during the zero fill"))
  // The registered framing check must describe the staged message as it is
  // now: nothing changed the staged header or the count (push or pop) in the
  // last cycle.
  `VMSG_ASSERT(a_chk_fresh,
      commit -> !$past(win_wr || discard || push || kick || fill_q || pop_fifo),
    ("vmsg_mbox: commit processed with a stale framing check"))
  // A held TX_CTRL request is the only one outstanding (the register block
  // sends the next request to TX_CTRL after this one's ack).
  `VMSG_ASSUME(a_ctrl_hold_alone, tx_ctrl_hold -> !tx_ctrl_req_i,
    ("vmsg_mbox: TX_CTRL request while an earlier one is held"))
  `VMSG_ASSERT(a_ctrl_ack, tx_ctrl_ack_o -> $past(tx_ctrl_req || fill_q),
    ("vmsg_mbox: TX_CTRL ack without a request"))
  `VMSG_ASSERT(a_fill_progress, fill_q && !(&mask_q) -> ram_we,
    ("vmsg_mbox: zero fill stalled"))
  `VMSG_ASSUME(a_rx_ack_pending, (rd_ram_q || rd_pend_q) -> !rx_win_req && !rx_ctrl_req,
    ("vmsg_mbox: reader request while a window read is pending"))
  `VMSG_ASSERT(a_fifo_avail, fifo_avail == (count_d != '0),
    ("vmsg_mbox: FIFO availability out of step with the count"))
  `VMSG_ASSERT(a_kick_not_push, !(kick && push),
    ("vmsg_mbox: doorbell and push in one cycle"))
  `VMSG_ASSERT(a_kick_to_dev, kick -> TO_DEVICE,
    ("vmsg_mbox: doorbell from the to-driver mailbox"))
`endif

endmodule

`default_nettype wire
