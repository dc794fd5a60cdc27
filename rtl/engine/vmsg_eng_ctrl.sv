// Register block of the engine (the ENG external block of the device map): global registers,
// the firmware completion path (CPL_ID / CPL_LEN / CPL_PUSH), one vmsg_eng_queue per queue, the
// choice of the next used->idx write among the queues, and the error interrupt.
//
// Register requests: one at a time, answered one cycle later (rd_ack / wr_ack with err), except a
// CTRL write with RESET = 1, which is answered when the queue reset has finished. Bad offsets,
// misaligned offsets, queue blocks >= NUM_Q, writes to read-only and reads of write-only
// registers answer err.

`default_nettype none

module vmsg_eng_ctrl #(
  parameter int unsigned NUM_Q          = 4,   // queues, 1..64
  parameter int unsigned AW             = 32,  // AXI address width
  parameter int unsigned DW             = 64,  // AXI data width
  parameter int unsigned CPL_FIFO_DEPTH = 8,   // firmware completion FIFO entries
  parameter int unsigned OW             = 6,   // width of per-queue outstanding counters
  parameter int unsigned IDX_BATCH      = 32,  // see vmsg_eng_queue
  parameter int unsigned IDX_HOLD       = 128, // see vmsg_eng_queue
  localparam int unsigned QW  = (NUM_Q > 1) ? $clog2(NUM_Q) : 1,
  localparam int unsigned FCW = $clog2(CPL_FIFO_DEPTH + 1)
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // register port
  input  wire                      s_reg_req_i,
  input  wire  [12:0]              s_reg_addr_i,
  input  wire                      s_reg_we_i,
  input  wire  [31:0]              s_reg_wdata_i,
  input  wire  [31:0]              s_reg_wmask_i,
  output logic                     s_reg_rd_ack_o,
  output logic [31:0]              s_reg_rdata_o,
  output logic                     s_reg_wr_ack_o,
  output logic                     s_reg_err_o,
  output logic                     err_irq_o,
  input  wire                      backlog_i,   // elements wait for the write channel
  // firmware completion FIFO
  output logic                     fw_push_o,
  output logic [5:0]               fw_queue_o,
  output logic [31:0]              fw_id_o,
  output logic [31:0]              fw_len_o,
  input  wire                      fw_full_i,
  input  wire  [FCW-1:0]           fw_count_i,
  // ingress events
  input  wire  [NUM_Q-1:0]         acc_i,
  input  wire  [NUM_Q-1:0]         drop_i,
  input  wire                      bad_q_i,
  // write path events
  input  wire                      ld_i,
  input  wire  [QW-1:0]            ld_q_i,
  input  wire  [15:0]              ld_end_i,
  input  wire                      ld_adv_i,
  input  wire                      issue_i,
  input  wire  [QW-1:0]            issue_q_i,
  input  wire                      b_i,
  input  wire  [QW-1:0]            b_q_i,
  input  wire                      b_idx_i,
  input  wire                      b_ok_i,
  input  wire  [15:0]              b_val_i,
  input  wire                      b_adv_i,
  input  wire  [AW-1:0]            b_addr_i,
  // used->idx write request
  output logic                     idx_valid_o,
  output logic [QW-1:0]            idx_q_o,
  output logic [15:0]              idx_val_o,
  output logic [AW-1:0]            idx_addr_o,
  input  wire                      idx_take_i,
  // read path events
  input  wire                      ar_take_i,
  input  wire  [QW-1:0]            ar_q_i,
  input  wire                      r_i,
  input  wire  [QW-1:0]            r_q_i,
  input  wire                      dec_i,
  input  wire  [15:0]              dec_new_i,
  input  wire                      dec_notify_i,
  input  wire                      rerr_i,
  input  wire  [AW-1:0]            rerr_addr_i,
  // events
  input  wire  [NUM_Q-1:0]         merged_i,
  input  wire  [NUM_Q-1:0]         evt_pending_i,
  // queue state
  output logic [NUM_Q-1:0]         q_en_o,
  output logic [NUM_Q-1:0]         q_evidx_o,
  output logic [NUM_Q-1:0]         q_flush_o,
  output logic [NUM_Q-1:0]         q_resetting_o,
  output logic [NUM_Q-1:0]         q_rst_done_o,
  output logic [NUM_Q-1:0][AW-1:0] q_used_o,
  output logic [NUM_Q-1:0][AW-1:0] q_avail_o,
  output logic [NUM_Q-1:0][4:0]    q_size_log2_o,
  output logic [NUM_Q-1:0][15:0]   q_dev_id_o,
  output logic [NUM_Q-1:0][15:0]   q_vq_o,
  output logic [NUM_Q-1:0][15:0]   q_acc_o,
  output logic [NUM_Q-1:0][15:0]   q_vis_o,
  output logic [NUM_Q-1:0][15:0]   q_old_o,
  output logic [NUM_Q-1:0]         q_rd_req_o
);

  // elaboration-time parameter checks
  if (CPL_FIFO_DEPTH < 2 || CPL_FIFO_DEPTH > 128) begin : g_param_err0
    $fatal(1, "vmsg_eng_ctrl: CPL_FIFO_DEPTH must be 2..128");
  end

  // ---------------------------------------------------------------------------------------
  // request decode
  logic       is_q, aligned, q_ok;
  logic [5:0] rq;
  logic [3:0] ridx;
  logic [9:0] gidx;
  assign is_q    = s_reg_addr_i[12];
  assign rq      = s_reg_addr_i[11:6];
  assign ridx    = s_reg_addr_i[5:2];
  assign gidx    = s_reg_addr_i[11:2];
  assign aligned = (s_reg_addr_i[1:0] == 2'd0);
  assign q_ok    = (32'(rq) < NUM_Q);

  localparam logic [9:0] G_CAPS = 10'd0, G_ERRQ_LO = 10'd2, G_ERRQ_HI = 10'd3, G_CPL_ID = 10'd4,
                         G_CPL_LEN = 10'd5, G_CPL_PUSH = 10'd6, G_CPL_STATUS = 10'd7,
                         G_CPL_REJ = 10'd8, G_CPL_BADQ = 10'd9, G_EVT_LO = 10'd10, G_EVT_HI = 10'd11;

  logic        waiting_q;   // a queue reset is in progress
  logic [QW-1:0] wait_q_q;
  logic        req;
  assign req = s_reg_req_i && !waiting_q;

  logic [31:0] cpl_id_q, cpl_len_q, cpl_rej_q, cpl_badq_q;
  logic [31:0] wval_g;
  assign wval_g = s_reg_wdata_i & s_reg_wmask_i;

  // per-queue register access
  logic [NUM_Q-1:0]        qsel_wr, q_wr_err, q_err_enter;
  logic [NUM_Q-1:0][31:0]  q_rdata;
  logic [NUM_Q-1:0]        q_err, q_idx_want;
  logic [NUM_Q-1:0][15:0]  q_idx_val;

  logic q_req_ok;
  assign q_req_ok = req && is_q && aligned && q_ok;
  always_comb begin
    qsel_wr = '0;
    if (q_req_ok && s_reg_we_i) qsel_wr[QW'(rq)] = 1'b1;
  end

  // CPL_PUSH check
  logic [5:0] push_q;
  logic       push_req, push_ok;
  assign push_q   = wval_g[5:0];
  assign push_req = req && !is_q && aligned && s_reg_we_i && (gidx == G_CPL_PUSH);
  assign push_ok  = (wval_g[7:6] == 2'd0) && (32'(push_q) < NUM_Q) && q_en_o[QW'(push_q)] &&
                    !q_flush_o[QW'(push_q)] && !fw_full_i;
  assign fw_push_o  = push_req && push_ok;
  assign fw_queue_o = push_q;
  assign fw_id_o    = cpl_id_q;
  assign fw_len_o   = cpl_len_q;

  logic [63:0] errq, evtq;
  assign errq = 64'(q_err);
  assign evtq = 64'(evt_pending_i);

  // response of this request
  logic        g_rd_err, g_wr_err;
  logic [31:0] g_rdata;
  always_comb begin
    g_rdata  = '0;
    g_rd_err = 1'b0;
    g_wr_err = 1'b1;
    unique case (gidx)
      G_CAPS:       g_rdata = {8'd0, 8'(AW), 8'(DW / 8), 8'(NUM_Q)};
      G_ERRQ_LO:    g_rdata = errq[31:0];
      G_ERRQ_HI:    g_rdata = errq[63:32];
      G_CPL_ID:     begin g_rdata = cpl_id_q;  g_wr_err = 1'b0; end
      G_CPL_LEN:    begin g_rdata = cpl_len_q; g_wr_err = 1'b0; end
      G_CPL_PUSH:   begin g_rd_err = 1'b1;     g_wr_err = !push_ok; end
      G_CPL_STATUS: g_rdata = 32'(CPL_FIFO_DEPTH) - 32'(fw_count_i);
      G_CPL_REJ:    g_rdata = cpl_rej_q;
      G_CPL_BADQ:   g_rdata = cpl_badq_q;
      G_EVT_LO:     g_rdata = evtq[31:0];
      G_EVT_HI:     g_rdata = evtq[63:32];
      default:      g_rd_err = 1'b1;
    endcase
  end

  logic start_wait;
  assign start_wait = q_req_ok && s_reg_we_i && (ridx == 4'd4) && s_reg_wdata_i[2] && s_reg_wmask_i[2];

  logic        rd_ack_q, wr_ack_q, err_q;
  logic [31:0] rdata_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_ack_q   <= 1'b0;
      wr_ack_q   <= 1'b0;
      err_q      <= 1'b0;
      rdata_q    <= '0;
      waiting_q  <= 1'b0;
      wait_q_q   <= '0;
      cpl_id_q   <= '0;
      cpl_len_q  <= '0;
      cpl_rej_q  <= '0;
      cpl_badq_q <= '0;
    end else begin
      rd_ack_q <= 1'b0;
      wr_ack_q <= 1'b0;
      err_q    <= 1'b0;
      rdata_q  <= '0;
      if (bad_q_i) cpl_badq_q <= cpl_badq_q + 32'd1;
      if (req) begin
        if (!s_reg_we_i) begin
          rd_ack_q <= 1'b1;
          if (!aligned) begin
            err_q <= 1'b1;
          end else if (is_q) begin
            if (q_ok) rdata_q <= q_rdata[QW'(rq)];
            err_q <= !q_ok;
          end else begin
            rdata_q <= g_rd_err ? 32'd0 : g_rdata;
            err_q   <= g_rd_err;
          end
        end else if (start_wait) begin
          waiting_q <= 1'b1;
          wait_q_q  <= QW'(rq);
        end else begin
          wr_ack_q <= 1'b1;
          if (!aligned) begin
            err_q <= 1'b1;
          end else if (is_q) begin
            err_q <= !q_ok || q_wr_err[QW'(rq)];
          end else begin
            err_q <= g_wr_err;
            if (gidx == G_CPL_ID)  cpl_id_q  <= (cpl_id_q & ~s_reg_wmask_i) | wval_g;
            if (gidx == G_CPL_LEN) cpl_len_q <= (cpl_len_q & ~s_reg_wmask_i) | wval_g;
            if (push_req && !push_ok) cpl_rej_q <= cpl_rej_q + 32'd1;
          end
        end
      end
      if (waiting_q && q_rst_done_o[wait_q_q]) begin
        waiting_q <= 1'b0;
        wr_ack_q  <= 1'b1;
      end
    end
  end
  assign s_reg_rd_ack_o = rd_ack_q;
  assign s_reg_wr_ack_o = wr_ack_q;
  assign s_reg_err_o    = err_q;
  assign s_reg_rdata_o  = rdata_q;

  // ---------------------------------------------------------------------------------------
  // queues
  for (genvar q = 0; q < NUM_Q; q++) begin : g_q
    vmsg_eng_queue #(
      .AW(AW), .OW(OW), .IDX_BATCH(IDX_BATCH), .IDX_HOLD(IDX_HOLD)
    ) u_queue (
      .clk_i, .rst_ni,
      .backlog_i     (backlog_i),
      .reg_wr_i      (qsel_wr[q]),
      .reg_idx_i     (ridx),
      .reg_wdata_i   (s_reg_wdata_i),
      .reg_wmask_i   (s_reg_wmask_i),
      .reg_wr_err_o  (q_wr_err[q]),
      .reg_rdata_o   (q_rdata[q]),
      .rst_done_o    (q_rst_done_o[q]),
      .err_enter_o   (q_err_enter[q]),
      .acc_i         (acc_i[q]),
      .drop_i        (drop_i[q]),
      .ld_i          (ld_i && ld_q_i == QW'(q)),
      .ld_end_i      (ld_end_i),
      .ld_adv_i      (ld_adv_i),
      .issue_i       (issue_i && issue_q_i == QW'(q)),
      .idx_take_i    (idx_take_i && idx_q_o == QW'(q)),
      .b_i           (b_i && b_q_i == QW'(q)),
      .b_idx_i       (b_idx_i),
      .b_ok_i        (b_ok_i),
      .b_val_i       (b_val_i),
      .b_adv_i       (b_adv_i),
      .b_addr_i      (b_addr_i),
      .ar_take_i     (ar_take_i && ar_q_i == QW'(q)),
      .r_i           (r_i && r_q_i == QW'(q)),
      .dec_i         (dec_i && r_q_i == QW'(q)),
      .dec_new_i     (dec_new_i),
      .dec_notify_i  (dec_notify_i),
      .rerr_i        (rerr_i && r_q_i == QW'(q)),
      .rerr_addr_i   (rerr_addr_i),
      .merged_i      (merged_i[q]),
      .en_o          (q_en_o[q]),
      .evidx_o       (q_evidx_o[q]),
      .err_o         (q_err[q]),
      .resetting_o   (q_resetting_o[q]),
      .flush_o       (q_flush_o[q]),
      .used_o        (q_used_o[q]),
      .avail_o       (q_avail_o[q]),
      .size_log2_o   (q_size_log2_o[q]),
      .dev_id_o      (q_dev_id_o[q]),
      .vq_o          (q_vq_o[q]),
      .acc_o         (q_acc_o[q]),
      .vis_o         (q_vis_o[q]),
      .old_o         (q_old_o[q]),
      .idx_want_o    (q_idx_want[q]),
      .idx_val_o     (q_idx_val[q]),
      .rd_req_o      (q_rd_req_o[q])
    );
  end

  // next used->idx write
  logic          idx_arb_valid;
  logic [QW-1:0] idx_arb_q;
  vmsg_eng_rr_arb #(.N(NUM_Q)) u_idx_arb (
    .clk_i, .rst_ni,
    .req_i       (q_idx_want),
    .take_i      (idx_take_i),
    .gnt_valid_o (idx_arb_valid),
    .gnt_idx_o   (idx_arb_q)
  );
  assign idx_valid_o = idx_arb_valid;
  assign idx_q_o     = idx_arb_q;
  assign idx_val_o   = q_idx_val[idx_arb_q];
  assign idx_addr_o  = q_used_o[idx_arb_q] + AW'(2);

  // error interrupt: one pulse per queue entering the error state (several in a cycle: one pulse)
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) err_irq_o <= 1'b0;
    else         err_irq_o <= |q_err_enter;
  end

endmodule

`default_nettype wire
