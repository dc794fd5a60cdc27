// Writer of one mailbox direction (docs/architecture.md, "Mailbox"): the TX
// window and TX_CTRL of the port that sends.
//
// Window writes land in the slot FIFO's staging slot and set the word's bit in
// a written-mask; shadows of bytes 0..13 (0..15 with the 8-byte header) feed
// the framing check (vmsg_mbox_check). A commit that passes it zero-fills the
// words not written (one per cycle, the ack waits), then pushes the slot with
// its written length. To the device, an EVENT_AVAIL that passes is sent to the
// doorbells instead (kick_*). A refused commit records its error code and
// keeps the staged message; DISCARD drops it.
//
// Timing: every request from the register block is registered on entry and
// the framing check result is registered too, so that neither the register
// decode nor the check is in series with the writer's logic; acks and errors
// are registered on the way out. Acks therefore come two cycles after the
// request at the earliest. The check sees the staged header and full_i of the
// previous cycle: a TX_CTRL request that arrives in the cycle after a window
// write (or a commit, discard or zero fill) or after a pop of a queued message
// (pop_i, which makes a full FIFO not full) waits one cycle for it, so no
// spacing of requests on either port is assumed; an assertion checks that a
// commit never uses a stale check. push_o, slot_we_o and the kick come from
// the registered request and check in the cycle they are processed.
//
// full_i and pop_i are the slot FIFO's: full_i changes only by this writer's
// push_o and by pop_i (the assertions on the room the check saw rely on it).

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_mbox_wr
  import vmsg_pkg::*;
#(
  parameter int unsigned HDR_FORMAT = HDR_SEED6,  // HDR_SEED6 (6-byte header) or HDR_HDR8 (8-byte)
  parameter int unsigned MSG_SIZE  = 64,    // bytes per slot: multiple of 4, 44..256 (48..256 HDR8)
  parameter bit          TO_DEVICE = 1'b1,  // 1: driver writes, device reads; 0: the reverse
  parameter int unsigned NUM_DEVS  = 8,     // device numbers with doorbells (EVENT_AVAIL check)
  parameter int unsigned NUM_VQS   = 4,     // virtqueues per device with doorbells
  localparam int unsigned WORDS    = MSG_SIZE / 4,
  localparam int unsigned WIDX_W   = $clog2(WORDS)
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,

  // TX_CTRL (external register; the register block forwards writes only)
  input  wire logic              tx_ctrl_req_i,
  input  wire logic              tx_ctrl_commit_i,    // COMMIT bit written as 1
  input  wire logic              tx_ctrl_discard_i,   // DISCARD bit written as 1
  output      logic              tx_ctrl_ack_o,
  output      logic              tx_ctrl_err_o,
  // TX_MSG window (64 words)
  input  wire logic              tx_win_req_i,
  input  wire logic              tx_win_we_i,
  input  wire logic [5:0]        tx_win_word_i,       // word within the window
  input  wire logic [31:0]       tx_win_wdata_i,
  input  wire logic [31:0]       tx_win_wmask_i,
  output      logic              tx_win_rd_ack_o,
  output      logic              tx_win_wr_ack_o,
  output      logic              tx_win_err_o,
  // TX_STATUS / TX_ERROR
  output      logic [8:0]        tx_staged_len_o,
  output      logic [3:0]        tx_err_code_o,
  // one-cycle pulses: counters, sticky flag, interrupt
  output      logic [6:1]        tx_rej_o,            // a commit was refused, bit = error code
  output      logic              tx_overflow_o,       // TX_ERROR.OVERFLOW hwset
  output      logic              tx_err_irq_o,        // TX_ERR interrupt

  // doorbell kick (TO_DEVICE = 1), one cycle
  output      logic              kick_valid_o,
  output      logic [15:0]       kick_dev_o,
  output      logic [15:0]       kick_vq_o,
  output      logic [31:0]       kick_data_o,

  // slot FIFO
  input  wire logic              full_i,              // DEPTH messages queued
  input  wire logic              pop_i,               // a queued message leaves (full_i may fall)
  output      logic              slot_we_o,           // write one word of the staging slot
  output      logic [WIDX_W-1:0] slot_widx_o,
  output      logic [31:0]       slot_wdata_o,
  output      logic [3:0]        slot_wbe_o,
  output      logic              push_o,              // queue the staging slot
  output      logic [8:0]        push_len_o,          // its HEAD_LEN
  output      logic [63:0]       push_hdr_o           // its first 8 bytes (waveform tap)
);

  localparam int unsigned SHB = shadow_bytes(HDR_FORMAT);   // staged bytes the check sees

  if (MSG_SIZE % 4 != 0 || MSG_SIZE < slot_min(HDR_FORMAT) || MSG_SIZE > VMSG_MAX_SLOT)
  begin : g_bad_params
    $fatal(1, "vmsg_mbox_wr: MSG_SIZE %0d (multiple of 4, %0d..256) out of range",
           MSG_SIZE, slot_min(HDR_FORMAT));
  end

  // ---------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------
  logic [WORDS-1:0]  mask_q, mask_d;             // words written since accept/discard
  logic [SHB*8-1:0]  shadow_q, shadow_d;         // staged bytes 0..SHB-1
  logic [8:0]        staged_len_q, staged_len_d; // highest written word + 1, times 4
  logic              fill_q, fill_d;             // zero-filling for an accepted commit
  vmsg_err_e         err_code_q, err_code_d;

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
    .full_i      (full_i),
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
    end
  end

  // ---------------------------------------------------------------------------
  // Window writes, commit, discard, zero fill
  // ---------------------------------------------------------------------------
  logic [WIDX_W-1:0] tx_widx;
  logic              tx_in_range;
  logic              win_wr;        // a window write into the staging slot
  logic [3:0]        win_be;
  logic [8:0]        win_len;       // staged length if this is the highest word
  assign tx_widx     = tx_win_word[WIDX_W-1:0];
  assign tx_in_range = 32'(tx_win_word) < WORDS;
  assign win_wr      = tx_win_req && tx_win_we && tx_in_range;
  assign win_len     = {1'b0, tx_win_word, 2'b00} + 9'd4;
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

  // The framing check result (chk_code_q) describes the staged message and
  // full_i of the previous cycle. A TX_CTRL request that comes in the cycle
  // after the staged message or the count changed (stg_chg_q: a window write,
  // discard, push, doorbell, zero fill, or a pop of a queued message on the
  // reader side, which makes a full FIFO not full) waits one cycle, so that a
  // commit always sees the check of the message and the FIFO as they are now,
  // however closely requests on either port follow each other.
  logic stg_chg_q;
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

  // Staging slot write port: the zero fill, or a window write.
  always_comb begin
    if (fill_q) begin
      slot_we_o    = !(&mask_q);
      slot_widx_o  = fill_idx;
      slot_wdata_o = '0;
      slot_wbe_o   = 4'hF;
    end else begin
      slot_we_o    = win_wr;
      slot_widx_o  = tx_widx;
      // The first write to a word since the last accept/discard writes all
      // four bytes (unstrobed ones as zero), so that no byte of an earlier
      // message survives in a partly written word.
      if (mask_q[tx_widx]) begin
        slot_wdata_o = tx_win_wdata;
        slot_wbe_o   = win_be;
      end else begin
        slot_wdata_o = tx_win_wdata & tx_win_wmask;
        slot_wbe_o   = 4'hF;
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
      if (slot_we_o) mask_d[fill_idx] = 1'b1;
    end else if (win_wr) begin
      mask_d[tx_widx] = 1'b1;
      for (int unsigned k = 0; k < SHB; k++) begin
        if (32'(tx_win_word) == k / 4 && win_be[k % 4]) begin
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

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mask_q       <= '0;
      shadow_q     <= '0;
      staged_len_q <= '0;
      fill_q       <= 1'b0;
      err_code_q   <= ERR_NONE;
      stg_chg_q    <= 1'b0;
    end else begin
      mask_q       <= mask_d;
      shadow_q     <= shadow_d;
      staged_len_q <= staged_len_d;
      fill_q       <= fill_d;
      err_code_q   <= err_code_d;
      stg_chg_q    <= win_wr || discard || push || kick || fill_q || pop_i;
    end
  end

  // Acks: an accepted commit waits for the zero fill; everything else answers
  // in the cycle of the (registered) request. Registered on the way out.
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

  assign tx_staged_len_o = staged_len_q;
  assign tx_err_code_o   = err_code_q;
  always_comb begin
    for (int unsigned c = 1; c <= 6; c++) tx_rej_o[c] = reject && (chk_code_q == vmsg_err_e'(c));
  end
  assign tx_overflow_o   = reject && (chk_code_q == ERR_OVERFLOW);
  assign tx_err_irq_o    = reject;
  assign kick_valid_o    = kick;
  assign push_o          = push;
  assign push_len_o      = staged_len_q;
  assign push_hdr_o      = shadow_q[63:0];

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  // A commit accepted at once sees the FIFO as it is (nothing changed it in the cycle before,
  // stg_chg_q), and the zero fill that follows a commit keeps the room it found (full_i moves
  // only by this writer's push and by pop_i).
  `VMSG_ASSERT(a_chk_room, !stg_chg_q && chk_code_q == ERR_NONE && !chk_doorbell_q -> !full_i,
    ("vmsg_mbox_wr: framing check passed with the FIFO full"))
  `VMSG_ASSERT(a_fill_room, fill_q -> !full_i,
    ("vmsg_mbox_wr: zero fill with the FIFO full"))
  // ---- input rules ----
  // The register block sends the next request to this side after the ack of a commit that
  // zero-fills (stated on the registered copies of its requests) and after the ack of a held
  // TX_CTRL request; other requests may follow each other in consecutive cycles.
  `VMSG_ASSUME(a_no_req_in_fill, fill_q -> !tx_ctrl_req && !tx_win_req,
    ("vmsg_mbox_wr: writer request during the zero fill"))
  `VMSG_ASSUME(a_ctrl_hold_alone, tx_ctrl_hold -> !tx_ctrl_req_i,
    ("vmsg_mbox_wr: TX_CTRL request while an earlier one is held"))
  // The registered framing check must describe the staged message as it is
  // now: nothing changed the staged header or the count (push or pop) in the
  // last cycle.
  `VMSG_ASSERT(a_chk_fresh,
      commit -> !$past(win_wr || discard || push || kick || fill_q || pop_i),
    ("vmsg_mbox_wr: commit processed with a stale framing check"))
  `VMSG_ASSERT(a_ctrl_ack, tx_ctrl_ack_o -> $past(tx_ctrl_req || fill_q),
    ("vmsg_mbox_wr: TX_CTRL ack without a request"))
  `VMSG_ASSERT(a_fill_progress, fill_q && !(&mask_q) -> slot_we_o,
    ("vmsg_mbox_wr: zero fill stalled"))
  `VMSG_ASSERT(a_kick_not_push, !(kick && push),
    ("vmsg_mbox_wr: doorbell and push in one cycle"))
  `VMSG_ASSERT(a_kick_to_dev, kick -> TO_DEVICE,
    ("vmsg_mbox_wr: doorbell from the to-driver mailbox"))
`endif

endmodule

`default_nettype wire
