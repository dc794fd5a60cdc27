// One queue of the used-index engine: configuration registers, ring state, the used->idx
// publication rule, error state, queue reset and the per-queue counters.
//
// Ring state (u16, wrapping):
//   acc    completions accepted (the ring index the next one gets)
//   ld     end index of the last element burst taken by the write path (issued or discarded)
//   acked  end index of the last element burst whose B response was OKAY (in order)
//   pub    last value given to a used->idx write
//   vis    last used->idx value whose write got OKAY (visible to the driver)
//   old    used->idx of the last notification decision
// Publication: at most one used->idx write in flight; a new one is requested when acked != pub,
// the decision read of the previous one has been issued, and either IDX_BATCH elements wait
// (IDX_BATCH is capped to half the ring), or no accepted element is still unacknowledged while
// the engine has no backlog of elements waiting for the write channel, or the oldest waiting
// element has waited IDX_HOLD cycles.
//
// Timing: every output that other blocks decide on comes from registers or one gate after them
// (the idx request and the room flag are computed a cycle ahead), and the events from the write
// and read paths that only move counters are registered on entry. A registered event that has
// not been applied yet keeps the queue busy and undrained.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_queue #(
  parameter int unsigned AW        = 32,  // AXI address width, 32..64
  parameter int unsigned OW        = 6,   // width of the outstanding-transaction counters
  parameter int unsigned IDX_BATCH = 32,  // elements that trigger a used->idx write at once, 1..32768
  parameter int unsigned IDX_HOLD  = 128  // cycles an acknowledged element waits at most, 1..255
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  input  wire           backlog_i,     // elements are waiting for the write channel
  // register access, already decoded to this queue. A write is checked in the cycle of reg_wr_i
  // and executed in the next one, when reg_wr_err_o tells whether it was refused; reg_rdata_o is
  // the value register reg_idx_i (held for three cycles) had two cycles ago.
  input  wire           reg_wr_i,      // a write request
  input  wire  [3:0]    reg_idx_i,     // register index in the queue block (offset / 4)
  input  wire  [31:0]   reg_wdata_i,
  input  wire  [31:0]   reg_wmask_i,
  output logic          reg_wr_err_o,  // the write of the previous cycle was refused
  output logic [31:0]   reg_rdata_o,
  output logic          rst_done_o,    // pulse: a queue reset finished (state cleared)
  // completions (ingress)
  input  wire           acc_i,         // a completion was accepted (gets index acc)
  input  wire           drop_i,        // a completion was dropped (queue disabled or in error)
  output logic          cpl_ok_o,      // a completion now would be accepted (enabled, room)
  output logic          cpl_drop_o,    // a completion now would be dropped (disabled or flushed)
  // write path
  input  wire           ld_i,          // an element burst of this queue was taken (a cycle ago)
  input  wire  [15:0]   ld_end_i,      // its end index (valid with ld_adv_i)
  input  wire           ld_adv_i,      // it ends on an element boundary
  input  wire           issue_i,       // a write transaction (element or idx) was issued (a cycle ago)
  input  wire           issue_idx_i,   // ... and it was the used->idx write
  input  wire           idx_take_i,    // the used->idx write of idx_want_o is issued now ...
  input  wire  [15:0]   idx_take_val_i,// ... with this value (idx_val_o of a few cycles ago)
  input  wire           b_i,           // a B response of this queue
  input  wire           b_idx_i,       // ... of a used->idx write (else of an element burst)
  input  wire           b_ok_i,        // ... OKAY
  input  wire  [15:0]   b_val_i,       // idx value written / end index of the burst
  input  wire           b_adv_i,       // element burst ends on an element boundary
  input  wire  [AW-1:0] b_addr_i,      // address of the transaction
  // read path
  input  wire           ar_take_i,     // the decision read was issued
  input  wire           r_i,           // a read response of this queue was done with
  input  wire           dec_i,         // notification decision made
  input  wire  [15:0]   dec_new_i,     // ... for this used->idx value
  input  wire           dec_notify_i,  // ... notify
  input  wire           rerr_i,        // the read failed
  input  wire  [AW-1:0] rerr_addr_i,
  // memory timeouts (pulses): no B / no R response for the configured number of cycles while
  // writes / reads were outstanding; every queue with a write / read outstanding takes it
  input  wire           wr_tmo_i,
  input  wire  [AW-1:0] wr_tmo_addr_i,  // address of the oldest unanswered write
  input  wire           rd_tmo_i,
  input  wire  [AW-1:0] rd_tmo_addr_i,  // address of the oldest unanswered read
  // events
  input  wire           merged_i,      // a notification merged into the pending bit
  // state
  output logic          evidx_o,
  output logic          err_o,
  output logic          resetting_o,
  output logic          flush_o,       // issue nothing more: error or reset in progress
  output logic [AW-1:0] used_o,
  output logic [AW-1:0] avail_o,
  output logic [4:0]    size_log2_o,
  output logic [15:0]   dev_id_o,
  output logic [15:0]   vq_o,
  output logic [15:0]   acc_o,
  output logic [15:0]   vis_o,
  output logic [15:0]   old_o,
  output logic          idx_want_o,    // a used->idx write is wanted ...
  output logic [15:0]   idx_val_o,     // ... with this value
  output logic          rd_req_o       // a decision read is wanted (for vis_o)
);

  localparam int unsigned LOW = (AW < 32) ? AW : 32;  // address bits held in *_LO
  localparam int unsigned HIW = AW - LOW;             // address bits held in *_HI

  // elaboration-time parameter checks
  if (AW < 32 || AW > 64) begin : g_param_err0
    $fatal(1, "vmsg_eng_queue: AW must be 32..64");
  end
  if (IDX_BATCH < 1 || IDX_BATCH > 32768) begin : g_param_err1
    $fatal(1, "vmsg_eng_queue: IDX_BATCH must be 1..32768");
  end
  if (IDX_HOLD < 1 || IDX_HOLD > 255) begin : g_param_err2
    $fatal(1, "vmsg_eng_queue: IDX_HOLD must be 1..255");
  end

  // register indices
  localparam logic [3:0] R_USED_LO = 4'd0, R_USED_HI = 4'd1, R_AVAIL_LO = 4'd2, R_AVAIL_HI = 4'd3,
                         R_CTRL = 4'd4, R_DEV = 4'd5, R_STATUS = 4'd6, R_ERR_LO = 4'd7,
                         R_ERR_HI = 4'd8, R_CPL = 4'd9, R_IDXWR = 4'd10, R_NOTIFY = 4'd11,
                         R_SUPPR = 4'd12, R_ERRCNT = 4'd13, R_DROP = 4'd14, R_MERGED = 4'd15;

  // ---------------------------------------------------------------------------------------
  // configuration
  logic [AW-1:0] used_q, avail_q, err_addr_q;
  logic          used_bad_hi_q, avail_bad_hi_q;
  logic          en_q, evidx_q;
  logic          en_next_q;               // ENABLE written while resetting: taken when it ends
  logic [4:0]    size_log2_q;
  logic [15:0]   dev_id_q, vq_q;
  // state
  logic [15:0]   acc_q, ld_q, acked_q, pub_q, vis_q, old_q;
  logic          idx_busy_q, rd_req_q, err_q, resetting_q;
  logic [2:0]    err_kind_q;
  logic [7:0]    hold_q;
  logic [OW-1:0] wr_out_q, rd_out_q;
  logic          want_q;                  // idx request, computed a cycle ahead
  logic          flush_q, busy_q;         // copies of flush_o and busy (a cycle late)
  logic          cpl_ok_q, drop_q;        // a completion would be accepted / dropped
  logic          err_cap_q;               // the error kind and address to take next cycle
  logic [2:0]    err_kind_cap_q;
  logic [AW-1:0] err_addr_cap_q;
  logic [15:0]   szmask_q;                // ring size - 1
  // registered events (applied one cycle later)
  logic          ld_ev_q, ld_adv_q, iss_ev_q, iss_idx_q, ar_ev_q;
  logic [15:0]   ld_end_q;
  // counters
  logic [31:0]   cnt_cpl_q, cnt_idxwr_q, cnt_notify_q, cnt_suppr_q, cnt_err_q, cnt_drop_q, cnt_merged_q;

  // masked register write value
  logic [31:0] wval;
  logic [31:0] old_reg;
  always_comb begin
    unique case (reg_idx_i)
      R_USED_LO:  old_reg = 32'(used_q[LOW-1:0]);
      R_AVAIL_LO: old_reg = 32'(avail_q[LOW-1:0]);
      R_CTRL:     old_reg = {19'd0, size_log2_q, 6'd0, evidx_q, en_q || en_next_q};
      R_DEV:      old_reg = {vq_q, dev_id_q};
      default:    old_reg = hi_word(reg_idx_i == R_USED_HI ? used_q : avail_q);
    endcase
  end
  assign wval = (old_reg & ~reg_wmask_i) | (reg_wdata_i & reg_wmask_i);

  function automatic logic [31:0] hi_word(logic [AW-1:0] a);
    return 32'(64'(a) >> 32);
  endfunction

  // a *_HI register written with bits at or above address bit AW set
  function automatic logic hi_bad(logic [31:0] v);
    return (64'(v) >> (AW - 32)) != 64'd0;
  endfunction

  // transactions issued whose response has not been handled (an issue event waiting to be
  // applied counts)
  logic outstanding;
  assign outstanding = (wr_out_q != '0) || (rd_out_q != '0) || iss_ev_q || ar_ev_q;

  // Busy is registered: it only rises while the queue is enabled (accepting), which locks the
  // configuration by itself, so a value one cycle late never lets a locked write through.
  logic busy;
  assign busy = (acc_q != vis_q) || outstanding || rd_req_q;

  // While the queue is being reset the configuration is free: the flush uses none of it (nothing
  // new is issued, the decisions of the reads still outstanding are dropped) and the ring state
  // starts again from 0 when the reset ends.
  logic cfg_locked;  // addresses, size and EVENT_IDX may not change
  assign cfg_locked = (en_q || busy_q) && !resetting_q;

  // CTRL fields as written (merged with the current ones under the mask), without the generic
  // read-back mux: the check below depends on them
  logic       w_reset, w_enable, w_evidx;
  logic [4:0] w_size;
  assign w_reset  = reg_wdata_i[2] && reg_wmask_i[2];
  assign w_enable = reg_wmask_i[0] ? reg_wdata_i[0] : en_q;
  assign w_evidx  = reg_wmask_i[1] ? reg_wdata_i[1] : evidx_q;
  assign w_size   = (size_log2_q & ~reg_wmask_i[12:8]) | (reg_wdata_i[12:8] & reg_wmask_i[12:8]);

  // configuration the queue would have after an enabling CTRL write
  logic new_cfg_bad;
  assign new_cfg_bad = used_bad_hi_q || avail_bad_hi_q ||
                       (used_q[1:0] != 2'd0) || avail_q[0] || (w_size > 5'd15);

  logic ctrl_enabling, ctrl_cfg_change;
  assign ctrl_enabling   = w_enable && !en_q;
  assign ctrl_cfg_change = (w_evidx != evidx_q) || (w_size != size_log2_q);

  logic wr_err;
  always_comb begin
    wr_err = 1'b0;
    unique case (reg_idx_i)
      R_USED_LO, R_USED_HI, R_AVAIL_LO, R_AVAIL_HI: wr_err = cfg_locked;
      R_CTRL: begin
        if (!w_reset) begin
          if (cfg_locked && ctrl_cfg_change) wr_err = 1'b1;
          else if (ctrl_enabling && ((err_q && !resetting_q) || new_cfg_bad)) wr_err = 1'b1;
        end
      end
      R_DEV:   wr_err = 1'b0;
      default: wr_err = 1'b1;  // read-only registers
    endcase
  end

  // The decision is registered and the write executed in the next cycle: only software changes
  // what the write depends on, except err_q, and an error entered in between is the same as an
  // error right after the write.
  logic wr_ctrl;
  assign wr_ctrl = reg_wr_i && (reg_idx_i == R_CTRL) && !w_reset;

  logic        wx_ok_q, wx_wreset_q, wr_enable_bad, start_reset;
  logic [3:0]  wx_idx_q;
  logic [31:0] wx_val_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wx_ok_q       <= 1'b0;
      wx_wreset_q   <= 1'b0;
      wx_idx_q      <= '0;
      wx_val_q      <= '0;
      reg_wr_err_o  <= 1'b0;
      wr_enable_bad <= 1'b0;
      start_reset   <= 1'b0;
    end else begin
      wx_ok_q      <= reg_wr_i && !wr_err;
      wx_wreset_q  <= w_reset;
      wx_idx_q     <= reg_idx_i;
      wx_val_q     <= wval;
      reg_wr_err_o <= wr_err;
      // an enabling write with a bad configuration puts the queue into the error state (kind 3)
      wr_enable_bad <= wr_ctrl && ctrl_enabling && !err_q && new_cfg_bad &&
                       !(cfg_locked && ctrl_cfg_change);
      start_reset   <= reg_wr_i && (reg_idx_i == R_CTRL) && w_reset && !resetting_q;
    end
  end

  // ---------------------------------------------------------------------------------------
  // publication rule
  // (the threshold follows the ring size a cycle late; the size does not change while the
  // queue has anything to publish)
  // thr = min(size / 2, IDX_BATCH), at least 1; 2^j < IDX_BATCH exactly when j < clog2(IDX_BATCH)
  localparam int unsigned BATCH_LOG2 = $clog2(IDX_BATCH);
  logic [15:0] unpub, thr_q;
  assign unpub = acked_q - pub_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      thr_q <= 16'd1;
    end else if (size_log2_q == 5'd0) begin
      thr_q <= 16'd1;
    end else if (32'(size_log2_q) - 1 < BATCH_LOG2) begin
      thr_q <= 16'd1 << (size_log2_q - 5'd1);
    end else begin
      thr_q <= 16'(IDX_BATCH);
    end
  end
  // The request is registered: the state it is computed from only moves towards it (acked grows,
  // pub and the gating bits change only through this queue's own idx write), and the gates
  // below are applied again on the current state.
  logic want_d;
  assign want_d = !flush_o && (unpub != 16'd0) &&
                  ((unpub >= thr_q) || (acked_q == acc_q && !backlog_i) || (hold_q >= 8'(IDX_HOLD)));
  // (a request that meets a flush that has just begun is dropped by the idx slot)
  assign idx_want_o = want_q && !idx_busy_q && !rd_req_q;
  assign idx_val_o  = acked_q;

  // Room in the ring: at most size completions accepted and not yet visible. The flag is a
  // register: computed from this cycle's acc and vis and whether a completion is accepted now
  // (vis only grows, so it never admits more than size). The ring size is a power of two:
  // inflight < size when no bit at or above log2(size) is set.
  logic [15:0] inflight;
  logic        room1, room2;   // room for one / two more
  assign inflight = acc_q - vis_q;
  assign room1    = (inflight & ~szmask_q) == '0;
  assign room2    = room1 && ((inflight & szmask_q) != szmask_q);
  // Whether completions are taken at all follows ENABLE and the flush flag a cycle late: a
  // completion that arrives in that cycle is accepted and then treated like the ones accepted
  // just before (drained, and counted as dropped if the queue is reset).
  assign cpl_ok_o   = cpl_ok_q;
  assign cpl_drop_o = drop_q;

  // drained: nothing of this queue left anywhere in the engine. The reset finishes a cycle after
  // the queue was seen drained, resetting for the second cycle at least, with no transaction
  // issued in the cycle before: the issue events arrive a cycle late, and the idx and read slots
  // drop a flushed queue's entry only from the cycle after the flush, so from the second cycle of
  // a reset on nothing is issued that the drained state would not show.
  logic drained, drained_q, rst_old_q;
  assign drained = (ld_q == acc_q) && !ld_ev_q && !outstanding;
  logic finish_reset;
  assign finish_reset = resetting_q && drained_q;
  assign rst_done_o = finish_reset;

  // errors of this cycle (first one wins the kind and address)
  logic       b_err, tmo_wr, tmo_rd, any_err;
  logic [2:0] err_kind_new;
  logic [AW-1:0] err_addr_new;
  assign b_err = b_i && !b_ok_i;
  assign tmo_wr  = wr_tmo_i && ((wr_out_q != '0) || iss_ev_q);
  assign tmo_rd  = rd_tmo_i && ((rd_out_q != '0) || ar_ev_q);
  assign any_err = !resetting_q && (b_err || rerr_i || wr_enable_bad || tmo_wr || tmo_rd);
  always_comb begin
    if (b_err) begin
      err_kind_new = 3'd1;
      err_addr_new = b_addr_i;
    end else if (rerr_i) begin
      err_kind_new = 3'd2;
      err_addr_new = rerr_addr_i;
    end else if (tmo_wr) begin
      err_kind_new = 3'd4;
      err_addr_new = wr_tmo_addr_i;
    end else if (tmo_rd) begin
      err_kind_new = 3'd4;
      err_addr_new = rd_tmo_addr_i;
    end else begin
      err_kind_new = 3'd3;
      err_addr_new = '0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      used_q         <= '0;
      avail_q        <= '0;
      used_bad_hi_q  <= 1'b0;
      avail_bad_hi_q <= 1'b0;
      en_q           <= 1'b0;
      en_next_q      <= 1'b0;
      evidx_q        <= 1'b0;
      size_log2_q    <= '0;
      dev_id_q       <= '0;
      vq_q           <= '0;
    end else begin
      if (wx_ok_q) begin
        unique case (wx_idx_q)
          R_USED_LO: begin
            used_q[LOW-1:0] <= wx_val_q[LOW-1:0];
          end
          R_USED_HI: begin
            if (HIW > 0) used_q <= set_hi(used_q[LOW-1:0], wx_val_q);
            used_bad_hi_q <= hi_bad(wx_val_q);
          end
          R_AVAIL_LO: begin
            avail_q[LOW-1:0] <= wx_val_q[LOW-1:0];
          end
          R_AVAIL_HI: begin
            if (HIW > 0) avail_q <= set_hi(avail_q[LOW-1:0], wx_val_q);
            avail_bad_hi_q <= hi_bad(wx_val_q);
          end
          R_CTRL: begin
            if (!wx_wreset_q) begin
              // (while resetting, ENABLE is taken when the reset ends)
              if (resetting_q) en_next_q <= wx_val_q[0];
              else             en_q      <= wx_val_q[0];
              evidx_q     <= wx_val_q[1];
              size_log2_q <= wx_val_q[12:8];
            end else begin
              en_next_q <= 1'b0;
            end
          end
          R_DEV: begin
            dev_id_q <= wx_val_q[15:0];
            vq_q     <= wx_val_q[31:16];
          end
          default: ;
        endcase
      end else if (wr_enable_bad) begin
        // the configuration fields are taken, ENABLE stays 0
        evidx_q     <= wx_val_q[1];
        size_log2_q <= wx_val_q[12:8];
      end
      if (start_reset) begin
        en_q      <= 1'b0;
        en_next_q <= 1'b0;
      end
      if (finish_reset) begin
        // (a CTRL write executed in this very cycle counts: ENABLE as written, or 0 for RESET)
        if (wx_ok_q && wx_idx_q == R_CTRL) en_q <= !wx_wreset_q && wx_val_q[0];
        else                               en_q <= en_next_q;
        en_next_q <= 1'b0;
      end
    end
  end

  function automatic logic [AW-1:0] set_hi(logic [LOW-1:0] lo, logic [31:0] v);
    return AW'({v, 32'(lo)});
  endfunction

  // ---------------------------------------------------------------------------------------
  // ring state
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q       <= '0;
      ld_q        <= '0;
      acked_q     <= '0;
      pub_q       <= '0;
      vis_q       <= '0;
      old_q       <= '0;
      idx_busy_q  <= 1'b0;
      rd_req_q    <= 1'b0;
      err_q       <= 1'b0;
      err_kind_q  <= '0;
      err_addr_q  <= '0;
      resetting_q <= 1'b0;
      hold_q      <= '0;
      wr_out_q    <= '0;
      rd_out_q    <= '0;
      want_q      <= 1'b0;
      cpl_ok_q    <= 1'b0;
      drop_q      <= 1'b1;
      szmask_q    <= '0;
      drained_q   <= 1'b0;
      rst_old_q   <= 1'b0;
      err_cap_q      <= 1'b0;
      err_kind_cap_q <= '0;
      err_addr_cap_q <= '0;
      flush_q     <= 1'b0;
      busy_q      <= 1'b0;
      ld_ev_q     <= 1'b0;
      ld_adv_q    <= 1'b0;
      ld_end_q    <= '0;
      iss_ev_q    <= 1'b0;
      iss_idx_q   <= 1'b0;
      ar_ev_q     <= 1'b0;
    end else begin
      want_q    <= want_d;
      cpl_ok_q  <= en_q && !flush_q && (acc_i ? room2 : room1);
      drop_q    <= !en_q || flush_q;
      szmask_q  <= ~(16'hFFFF << size_log2_q);
      rst_old_q <= resetting_q && !finish_reset;
      drained_q <= drained && resetting_q && rst_old_q && !finish_reset && !issue_i && !ar_take_i;
      busy_q    <= busy && !finish_reset;  // the ring state starts again from 0 at the reset's end

      ld_ev_q   <= ld_i;
      ld_adv_q  <= ld_adv_i;
      ld_end_q  <= ld_end_i;
      iss_ev_q  <= issue_i;
      iss_idx_q <= issue_i && issue_idx_i;
      ar_ev_q   <= ar_take_i;

      if (acc_i) acc_q <= acc_q + 16'd1;
      if (ld_ev_q && ld_adv_q) ld_q <= ld_end_q;
      wr_out_q <= wr_out_q + OW'(iss_ev_q) - OW'(b_i);
      rd_out_q <= rd_out_q + OW'(ar_ev_q) - OW'(r_i);

      if (idx_take_i) begin
        idx_busy_q <= 1'b1;
        pub_q      <= idx_take_val_i;
        hold_q     <= '0;
      end else if (unpub != 16'd0 && hold_q != 8'hFF) begin
        hold_q <= hold_q + 8'd1;
      end

      if (b_i && !b_idx_i && b_ok_i && b_adv_i && !flush_o) acked_q <= b_val_i;
      if (b_i && b_idx_i) begin
        idx_busy_q <= 1'b0;
        if (b_ok_i) vis_q <= b_val_i;  // visible to the driver, even while resetting
        if (b_ok_i && !flush_o) rd_req_q <= 1'b1;
      end
      if (ar_take_i) rd_req_q <= 1'b0;
      if (dec_i) old_q <= dec_new_i;

      // (the kind and address of the error are taken a cycle later: only software reads them)
      err_cap_q      <= any_err && !err_q;
      err_kind_cap_q <= err_kind_new;
      err_addr_cap_q <= err_addr_new;
      if (err_cap_q) begin
        err_kind_q <= err_kind_cap_q;
        err_addr_q <= err_addr_cap_q;
      end
      if (any_err) begin
        rd_req_q <= 1'b0;
        flush_q  <= 1'b1;
        err_q    <= 1'b1;
      end
      if (start_reset) begin
        resetting_q <= 1'b1;
        flush_q     <= 1'b1;
        rd_req_q    <= 1'b0;
      end
      if (finish_reset) begin
        resetting_q <= 1'b0;
        flush_q     <= 1'b0;
        acc_q       <= '0;
        ld_q        <= '0;
        acked_q     <= '0;
        pub_q       <= '0;
        vis_q       <= '0;
        old_q       <= '0;
        idx_busy_q  <= 1'b0;
        rd_req_q    <= 1'b0;
        err_q       <= 1'b0;
        err_kind_q  <= '0;
        err_addr_q  <= '0;
        hold_q      <= '0;
      end
    end
  end

  // ---------------------------------------------------------------------------------------
  // counters
  // The counting events are registered first, so that the 32-bit adders start from registers
  // (the register read path takes its snapshot late enough to see an event of the cycle the
  // request arrives in).
  logic [2:0] err_inc;
  assign err_inc = 3'(b_err) + 3'(rerr_i) + 3'(wr_enable_bad) + 3'(tmo_wr) + 3'(tmo_rd);
  logic [15:0] drop_reset;
  assign drop_reset = finish_reset ? inflight : 16'd0;

  logic        ev_cpl_q, ev_drop_q, ev_notify_q, ev_suppr_q, ev_merged_q;
  logic [2:0]  ev_err_q;
  logic [15:0] ev_drop_reset_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ev_cpl_q        <= 1'b0;
      ev_drop_q       <= 1'b0;
      ev_notify_q     <= 1'b0;
      ev_suppr_q      <= 1'b0;
      ev_err_q        <= '0;
      ev_drop_reset_q <= '0;
      ev_merged_q     <= 1'b0;
      cnt_cpl_q       <= '0;
      cnt_idxwr_q     <= '0;
      cnt_notify_q    <= '0;
      cnt_suppr_q     <= '0;
      cnt_err_q       <= '0;
      cnt_drop_q      <= '0;
      cnt_merged_q    <= '0;
    end else begin
      ev_cpl_q        <= acc_i;
      ev_drop_q       <= drop_i;
      ev_notify_q     <= dec_i && dec_notify_i;
      ev_suppr_q      <= dec_i && !dec_notify_i;
      ev_err_q        <= err_inc;
      ev_drop_reset_q <= drop_reset;
      ev_merged_q     <= merged_i;
      if (ev_cpl_q)    cnt_cpl_q    <= cnt_cpl_q + 32'd1;
      if (iss_idx_q)   cnt_idxwr_q  <= cnt_idxwr_q + 32'd1;
      if (ev_notify_q) cnt_notify_q <= cnt_notify_q + 32'd1;
      if (ev_suppr_q)  cnt_suppr_q  <= cnt_suppr_q + 32'd1;
      cnt_err_q    <= cnt_err_q + 32'(ev_err_q);
      cnt_drop_q   <= cnt_drop_q + 32'(ev_drop_q) + 32'(ev_drop_reset_q);
      if (ev_merged_q) cnt_merged_q <= cnt_merged_q + 32'd1;
    end
  end

  // ---------------------------------------------------------------------------------------
  // register read: the index is registered here (it reaches every queue) and so is the data
  // (the read mux of all queues follows in the register block)
  logic [3:0]  ridx_q;
  logic [31:0] rdata;
  always_comb begin
    unique case (ridx_q)
      R_USED_LO:  rdata = 32'(used_q[LOW-1:0]);
      R_USED_HI:  rdata = hi_word(used_q);
      R_AVAIL_LO: rdata = 32'(avail_q[LOW-1:0]);
      R_AVAIL_HI: rdata = hi_word(avail_q);
      R_CTRL:     rdata = {19'd0, size_log2_q, 6'd0, evidx_q, en_q || en_next_q};
      R_DEV:      rdata = {vq_q, dev_id_q};
      R_STATUS:   rdata = {10'd0, resetting_q, err_kind_q, busy_q || resetting_q, err_q, vis_q};
      R_ERR_LO:   rdata = 32'(err_addr_q[LOW-1:0]);
      R_ERR_HI:   rdata = hi_word(err_addr_q);
      R_CPL:      rdata = cnt_cpl_q;
      R_IDXWR:    rdata = cnt_idxwr_q;
      R_NOTIFY:   rdata = cnt_notify_q;
      R_SUPPR:    rdata = cnt_suppr_q;
      R_ERRCNT:   rdata = cnt_err_q;
      R_DROP:     rdata = cnt_drop_q;
      R_MERGED:   rdata = cnt_merged_q;
      default:    rdata = '0;
    endcase
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ridx_q      <= '0;
      reg_rdata_o <= '0;
    end else begin
      ridx_q      <= reg_idx_i;
      reg_rdata_o <= rdata;
    end
  end

  assign evidx_o     = evidx_q;
  assign err_o       = err_q;
  assign resetting_o = resetting_q;
  assign flush_o     = flush_q;
  assign used_o      = used_q;
  assign avail_o     = avail_q;
  assign size_log2_o = size_log2_q;
  assign dev_id_o    = dev_id_q;
  assign vq_o        = vq_q;
  assign acc_o       = acc_q;
  assign vis_o       = vis_q;
  assign old_o       = old_q;
  assign rd_req_o    = rd_req_q;   // (cleared whenever the queue is flushed)

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  // never more completions in flight than the ring holds
  logic [15:0] inflight_sva;
  assign inflight_sva = acc_q - vis_q;
  `VMSG_ASSERT(a_inflight, !err_q && !resetting_q -> 17'(inflight_sva) <= (17'd1 << size_log2_q),
    ("vmsg_eng_queue: more completions in flight than the ring size"))
  // used->idx never published beyond what has been acknowledged
  `VMSG_ASSERT(a_pub_le_acked, 16'(acc_q - pub_q) >= 16'(acc_q - acked_q),
    ("vmsg_eng_queue: idx published beyond acknowledged elements"))
  `VMSG_ASSUME(a_one_idx, idx_take_i -> !idx_busy_q,
    ("vmsg_eng_queue: second used->idx write in flight"))
  `VMSG_ASSERT(a_rd_req_flush, rd_req_q -> !flush_q,
    ("vmsg_eng_queue: decision read wanted by a flushed queue"))
  `VMSG_ASSERT(a_flush, flush_q == (err_q || resetting_q),
    ("vmsg_eng_queue: flush flag out of step with the error and reset state"))
  `VMSG_ASSUME(a_idx_take_flush, idx_take_i -> !rd_req_q && !(flush_q && $past(flush_q)),
    ("vmsg_eng_queue: used->idx write issued for a flushed queue or before its read"))
  `VMSG_ASSERT(a_idle_after_reset, $past(finish_reset) -> !busy_q,
    ("vmsg_eng_queue: STATUS.BUSY (and the configuration lock) still set after the reset ended"))
  `VMSG_ASSERT(a_reset_drained, finish_reset -> drained && !idx_take_i && !ar_take_i && !acc_i,
    ("vmsg_eng_queue: queue reset finished with work left"))
`endif

endmodule

`default_nettype wire
