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

`default_nettype none

module vmsg_eng_queue #(
  parameter int unsigned AW        = 32,  // AXI address width, 32..64
  parameter int unsigned OW        = 6,   // width of the outstanding-transaction counters
  parameter int unsigned IDX_BATCH = 32,  // elements that trigger a used->idx write at once, 1..32768
  parameter int unsigned IDX_HOLD  = 128  // cycles an acknowledged element waits at most, 1..255
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  input  wire           backlog_i,     // elements are waiting for the write channel
  // register access, already decoded to this queue (request cycle)
  input  wire           reg_wr_i,      // execute the write now
  input  wire  [3:0]    reg_idx_i,     // register index in the queue block (offset / 4)
  input  wire  [31:0]   reg_wdata_i,
  input  wire  [31:0]   reg_wmask_i,
  output logic          reg_wr_err_o,  // the write described by reg_idx/wdata/wmask is refused
  output logic [31:0]   reg_rdata_o,   // value of register reg_idx_i
  output logic          rst_done_o,    // pulse: a queue reset finished (state cleared)
  output logic          err_enter_o,   // pulse: the queue entered the error state
  // completions (ingress)
  input  wire           acc_i,         // a completion was accepted (gets index acc)
  input  wire           drop_i,        // a completion was dropped (queue disabled or in error)
  // write path
  input  wire           ld_i,          // an element burst of this queue was taken
  input  wire  [15:0]   ld_end_i,      // its end index (valid with ld_adv_i)
  input  wire           ld_adv_i,      // it ends on an element boundary
  input  wire           issue_i,       // a write transaction (element or idx) was issued
  input  wire           idx_take_i,    // the used->idx write requested by idx_want_o was issued
  input  wire           b_i,           // a B response of this queue
  input  wire           b_idx_i,       // ... of a used->idx write (else of an element burst)
  input  wire           b_ok_i,        // ... OKAY
  input  wire  [15:0]   b_val_i,       // idx value written / end index of the burst
  input  wire           b_adv_i,       // element burst ends on an element boundary
  input  wire  [AW-1:0] b_addr_i,      // address of the transaction
  // read path
  input  wire           ar_take_i,     // the decision read was issued
  input  wire           r_i,           // a read response of this queue was consumed
  input  wire           dec_i,         // notification decision made
  input  wire  [15:0]   dec_new_i,     // ... for this used->idx value
  input  wire           dec_notify_i,  // ... notify
  input  wire           rerr_i,        // the read failed
  input  wire  [AW-1:0] rerr_addr_i,
  // events
  input  wire           merged_i,      // a notification merged into the pending bit
  // state
  output logic          en_o,
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
  logic [4:0]    size_log2_q;
  logic [15:0]   dev_id_q, vq_q;
  // state
  logic [15:0]   acc_q, ld_q, acked_q, pub_q, vis_q, old_q;
  logic          idx_busy_q, rd_req_q, err_q, resetting_q;
  logic [1:0]    err_kind_q;
  logic [7:0]    hold_q;
  logic [OW-1:0] wr_out_q, rd_out_q;
  // counters
  logic [31:0]   cnt_cpl_q, cnt_idxwr_q, cnt_notify_q, cnt_suppr_q, cnt_err_q, cnt_drop_q, cnt_merged_q;

  // masked register write value
  logic [31:0] wval;
  logic [31:0] old_reg;
  always_comb begin
    unique case (reg_idx_i)
      R_USED_LO:  old_reg = 32'(used_q[LOW-1:0]);
      R_AVAIL_LO: old_reg = 32'(avail_q[LOW-1:0]);
      R_CTRL:     old_reg = {19'd0, size_log2_q, 6'd0, evidx_q, en_q};
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

  logic busy;
  assign busy = (acc_q != vis_q) || (wr_out_q != '0) || (rd_out_q != '0) || rd_req_q;

  logic cfg_locked;  // addresses, size and EVENT_IDX may not change
  assign cfg_locked = en_q || busy;

  logic       w_reset, w_enable, w_evidx;
  logic [4:0] w_size;
  assign w_reset  = reg_wdata_i[2] && reg_wmask_i[2];
  assign w_enable = wval[0];
  assign w_evidx  = wval[1];
  assign w_size   = wval[12:8];

  // configuration the queue would have after an enabling CTRL write
  logic new_cfg_bad;
  assign new_cfg_bad = used_bad_hi_q || avail_bad_hi_q ||
                       (used_q[1:0] != 2'd0) || avail_q[0] || (w_size > 5'd15);

  logic ctrl_enabling, ctrl_cfg_change;
  assign ctrl_enabling   = w_enable && !en_q;
  assign ctrl_cfg_change = (w_evidx != evidx_q) || (w_size != size_log2_q);

  always_comb begin
    reg_wr_err_o = 1'b0;
    unique case (reg_idx_i)
      R_USED_LO, R_USED_HI, R_AVAIL_LO, R_AVAIL_HI: reg_wr_err_o = cfg_locked;
      R_CTRL: begin
        if (!w_reset) begin
          if (cfg_locked && ctrl_cfg_change) reg_wr_err_o = 1'b1;
          else if (ctrl_enabling && (err_q || new_cfg_bad)) reg_wr_err_o = 1'b1;
        end
      end
      R_DEV:   reg_wr_err_o = 1'b0;
      default: reg_wr_err_o = 1'b1;  // read-only registers
    endcase
  end

  logic wr_ok, wr_ctrl, wr_enable_bad;
  assign wr_ok   = reg_wr_i && !reg_wr_err_o;
  assign wr_ctrl = reg_wr_i && (reg_idx_i == R_CTRL) && !w_reset;
  // an enabling write with a bad configuration puts the queue into the error state (kind 3)
  assign wr_enable_bad = wr_ctrl && ctrl_enabling && !err_q && new_cfg_bad &&
                         !(cfg_locked && ctrl_cfg_change);
  logic start_reset;
  assign start_reset = reg_wr_i && (reg_idx_i == R_CTRL) && w_reset && !resetting_q;

  // ---------------------------------------------------------------------------------------
  // publication rule
  logic [15:0] unpub, thr;
  assign unpub = acked_q - pub_q;
  always_comb begin
    logic [15:0] half;
    half = (size_log2_q == 5'd0) ? 16'd1 : 16'(17'd1 << (size_log2_q - 5'd1));
    thr  = (half < 16'(IDX_BATCH)) ? half : 16'(IDX_BATCH);
  end
  assign idx_want_o = !flush_o && !idx_busy_q && !rd_req_q && (unpub != 16'd0) &&
                      ((unpub >= thr) || (acked_q == acc_q && !backlog_i) || (hold_q >= 8'(IDX_HOLD)));
  assign idx_val_o  = acked_q;

  // drained: nothing of this queue left anywhere in the engine
  logic drained;
  assign drained = (ld_q == acc_q) && (wr_out_q == '0) && (rd_out_q == '0);
  logic finish_reset;
  assign finish_reset = resetting_q && drained;
  assign rst_done_o = finish_reset;

  // errors of this cycle (first one wins the kind and address)
  logic       b_err, any_err;
  logic [1:0] err_kind_new;
  logic [AW-1:0] err_addr_new;
  assign b_err = b_i && !b_ok_i;
  assign any_err = !resetting_q && (b_err || rerr_i || wr_enable_bad);
  always_comb begin
    if (b_err) begin
      err_kind_new = 2'd1;
      err_addr_new = b_addr_i;
    end else if (rerr_i) begin
      err_kind_new = 2'd2;
      err_addr_new = rerr_addr_i;
    end else begin
      err_kind_new = 2'd3;
      err_addr_new = '0;
    end
  end
  assign err_enter_o = any_err && !err_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      used_q         <= '0;
      avail_q        <= '0;
      used_bad_hi_q  <= 1'b0;
      avail_bad_hi_q <= 1'b0;
      en_q           <= 1'b0;
      evidx_q        <= 1'b0;
      size_log2_q    <= '0;
      dev_id_q       <= '0;
      vq_q           <= '0;
    end else begin
      if (wr_ok) begin
        unique case (reg_idx_i)
          R_USED_LO: begin
            used_q[LOW-1:0] <= wval[LOW-1:0];
          end
          R_USED_HI: begin
            if (HIW > 0) used_q <= set_hi(used_q[LOW-1:0], wval);
            used_bad_hi_q <= hi_bad(wval);
          end
          R_AVAIL_LO: begin
            avail_q[LOW-1:0] <= wval[LOW-1:0];
          end
          R_AVAIL_HI: begin
            if (HIW > 0) avail_q <= set_hi(avail_q[LOW-1:0], wval);
            avail_bad_hi_q <= hi_bad(wval);
          end
          R_CTRL: begin
            if (!w_reset) begin
              en_q        <= w_enable;
              evidx_q     <= w_evidx;
              size_log2_q <= w_size;
            end
          end
          R_DEV: begin
            dev_id_q <= wval[15:0];
            vq_q     <= wval[31:16];
          end
          default: ;
        endcase
      end else if (wr_enable_bad) begin
        // the configuration fields are taken, ENABLE stays 0
        evidx_q     <= w_evidx;
        size_log2_q <= w_size;
      end
      if (start_reset) en_q <= 1'b0;
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
    end else begin
      if (acc_i) acc_q <= acc_q + 16'd1;
      if (ld_i && ld_adv_i) ld_q <= ld_end_i;
      wr_out_q <= wr_out_q + OW'(issue_i) - OW'(b_i);
      rd_out_q <= rd_out_q + OW'(ar_take_i) - OW'(r_i);

      if (idx_take_i) begin
        idx_busy_q <= 1'b1;
        pub_q      <= acked_q;
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

      if (any_err) begin
        rd_req_q <= 1'b0;
        if (!err_q) begin
          err_q      <= 1'b1;
          err_kind_q <= err_kind_new;
          err_addr_q <= err_addr_new;
        end
      end
      if (start_reset) begin
        resetting_q <= 1'b1;
        rd_req_q    <= 1'b0;
      end
      if (finish_reset) begin
        resetting_q <= 1'b0;
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
  logic [1:0] err_inc;
  assign err_inc = 2'(b_err) + 2'(rerr_i) + 2'(wr_enable_bad);
  logic [15:0] drop_reset;
  assign drop_reset = finish_reset ? (acc_q - vis_q) : 16'd0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cnt_cpl_q    <= '0;
      cnt_idxwr_q  <= '0;
      cnt_notify_q <= '0;
      cnt_suppr_q  <= '0;
      cnt_err_q    <= '0;
      cnt_drop_q   <= '0;
      cnt_merged_q <= '0;
    end else begin
      cnt_cpl_q    <= cnt_cpl_q + 32'(acc_i);
      cnt_idxwr_q  <= cnt_idxwr_q + 32'(idx_take_i);
      cnt_notify_q <= cnt_notify_q + 32'(dec_i && dec_notify_i);
      cnt_suppr_q  <= cnt_suppr_q + 32'(dec_i && !dec_notify_i);
      cnt_err_q    <= cnt_err_q + 32'(err_inc);
      cnt_drop_q   <= cnt_drop_q + 32'(drop_i) + 32'(drop_reset);
      cnt_merged_q <= cnt_merged_q + 32'(merged_i);
    end
  end

  // ---------------------------------------------------------------------------------------
  // register read
  always_comb begin
    unique case (reg_idx_i)
      R_USED_LO:  reg_rdata_o = 32'(used_q[LOW-1:0]);
      R_USED_HI:  reg_rdata_o = hi_word(used_q);
      R_AVAIL_LO: reg_rdata_o = 32'(avail_q[LOW-1:0]);
      R_AVAIL_HI: reg_rdata_o = hi_word(avail_q);
      R_CTRL:     reg_rdata_o = {19'd0, size_log2_q, 6'd0, evidx_q, en_q};
      R_DEV:      reg_rdata_o = {vq_q, dev_id_q};
      R_STATUS:   reg_rdata_o = {12'd0, err_kind_q, busy, err_q, vis_q};
      R_ERR_LO:   reg_rdata_o = 32'(err_addr_q[LOW-1:0]);
      R_ERR_HI:   reg_rdata_o = hi_word(err_addr_q);
      R_CPL:      reg_rdata_o = cnt_cpl_q;
      R_IDXWR:    reg_rdata_o = cnt_idxwr_q;
      R_NOTIFY:   reg_rdata_o = cnt_notify_q;
      R_SUPPR:    reg_rdata_o = cnt_suppr_q;
      R_ERRCNT:   reg_rdata_o = cnt_err_q;
      R_DROP:     reg_rdata_o = cnt_drop_q;
      R_MERGED:   reg_rdata_o = cnt_merged_q;
      default:    reg_rdata_o = '0;
    endcase
  end

  assign en_o        = en_q;
  assign evidx_o     = evidx_q;
  assign err_o       = err_q;
  assign resetting_o = resetting_q;
  assign flush_o     = err_q || resetting_q;
  assign used_o      = used_q;
  assign avail_o     = avail_q;
  assign size_log2_o = size_log2_q;
  assign dev_id_o    = dev_id_q;
  assign vq_o        = vq_q;
  assign acc_o       = acc_q;
  assign vis_o       = vis_q;
  assign old_o       = old_q;
  assign rd_req_o    = rd_req_q && !flush_o;

`ifndef SYNTHESIS
  // assertions start one cycle after reset
  logic sva_en_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sva_en_q <= 1'b0;
    else         sva_en_q <= 1'b1;
  end
  // never more completions in flight than the ring holds
  logic [15:0] inflight_sva;
  assign inflight_sva = acc_q - vis_q;
  a_inflight: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    !err_q && !resetting_q |-> 17'(inflight_sva) <= (17'd1 << size_log2_q))
    else $error("vmsg_eng_queue: more completions in flight than the ring size");
  // used->idx never published beyond what has been acknowledged
  a_pub_le_acked: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    16'(acc_q - pub_q) >= 16'(acc_q - acked_q))
    else $error("vmsg_eng_queue: idx published beyond acknowledged elements");
  a_one_idx: assert property (@(posedge clk_i) disable iff (!sva_en_q) idx_take_i |-> !idx_busy_q)
    else $error("vmsg_eng_queue: second used->idx write in flight");
`endif

endmodule

`default_nettype wire
