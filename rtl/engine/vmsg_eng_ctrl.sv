// Register block of the engine (the ENG external block of the device map): global registers,
// the firmware completion path (CPL_ID / CPL_LEN / CPL_PUSH), one vmsg_eng_queue per queue, the
// choice of the next used->idx write among the queues, and the error interrupt.
//
// Register requests: one at a time, registered on entry and decoded into registers; the read
// data and a queue's write check pass registers too. Writes are answered three cycles after the
// request (four for queue registers, six for a queue reset: by then the queue's flush has reached
// every slot, so nothing of the queue is issued after the ack; the reset goes on in the
// background and STATUS.RESETTING tells when it finished), reads six. Bad offsets, misaligned offsets, queue blocks
// >= NUM_Q, writes to read-only and reads of write-only registers answer err. A read sees the
// events (counted a cycle late) of the cycle the request arrives in.
//
// The next used->idx write: a round-robin choice among the queues that want one is latched in a
// one-entry slot (the queue's number, then its acked value and the idx address in a second
// register), from which the write path takes it; an entry whose queue enters the error state or
// a reset is dropped.
//
// TIMEOUT (global register, reset value MEM_TIMEOUT) is given to the write and read paths, whose
// timeout pulses reach every queue (a queue takes one when it has a transaction outstanding).

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_ctrl #(
  parameter int unsigned NUM_Q          = 4,   // queues, 1..64
  parameter int unsigned AW             = 32,  // AXI address width
  parameter int unsigned DW             = 64,  // AXI data width
  parameter int unsigned CPL_FIFO_DEPTH = 8,   // firmware completion FIFO entries
  parameter int unsigned OW             = 6,   // width of per-queue outstanding counters
  parameter int unsigned IDX_BATCH      = 32,  // see vmsg_eng_queue
  parameter int unsigned IDX_HOLD       = 128, // see vmsg_eng_queue
  parameter int unsigned MEM_TIMEOUT    = 65536, // reset value of TIMEOUT (0: never), < 2^24
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
  // (the events of the write and read paths: one-hot by queue)
  input  wire  [NUM_Q-1:0]         ld_i,
  input  wire  [15:0]              ld_end_i,
  input  wire                      ld_adv_i,
  input  wire  [NUM_Q-1:0]         issue_i,
  input  wire                      issue_idx_i,
  input  wire  [NUM_Q-1:0]         b_i,
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
  input  wire  [NUM_Q-1:0]         r_i,
  input  wire                      dec_i,
  input  wire  [15:0]              dec_new_i,
  input  wire                      dec_notify_i,
  input  wire                      rerr_i,
  input  wire  [AW-1:0]            rerr_addr_i,
  // memory timeouts
  output logic [23:0]              tmo_limit_o,
  input  wire                      wr_tmo_i,
  input  wire  [AW-1:0]            wr_tmo_addr_i,
  input  wire                      rd_tmo_i,
  input  wire  [AW-1:0]            rd_tmo_addr_i,
  // events
  input  wire  [NUM_Q-1:0]         merged_i,
  input  wire  [NUM_Q-1:0]         evt_pending_i,
  // queue state
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
  output logic [NUM_Q-1:0]         q_cpl_ok_o,
  output logic [NUM_Q-1:0]         q_cpl_drop_o,
  output logic [NUM_Q-1:0]         q_rd_req_o
);

  // elaboration-time parameter checks
  if (CPL_FIFO_DEPTH < 2 || CPL_FIFO_DEPTH > 128) begin : g_param_err0
    $fatal(1, "vmsg_eng_ctrl: CPL_FIFO_DEPTH must be 2..128");
  end
  if (MEM_TIMEOUT >= (1 << 24)) begin : g_param_err1
    $fatal(1, "vmsg_eng_ctrl: MEM_TIMEOUT must be 0..2^24-1");
  end

  // ---------------------------------------------------------------------------------------
  // request: registered on entry (stage 1), then decoded into registers (stage 2), where it is
  // executed; the address and data stay in the stage-1 registers (one request at a time)
  logic        rq_req_q, rq_we_q;
  logic [12:0] rq_addr_q;
  logic [31:0] rq_wdata_q, rq_wmask_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rq_req_q   <= 1'b0;
      rq_we_q    <= 1'b0;
      rq_addr_q  <= '0;
      rq_wdata_q <= '0;
      rq_wmask_q <= '0;
    end else begin
      rq_req_q <= s_reg_req_i;
      if (s_reg_req_i) begin
        rq_we_q    <= s_reg_we_i;
        rq_addr_q  <= s_reg_addr_i;
        rq_wdata_q <= s_reg_wdata_i;
        rq_wmask_q <= s_reg_wmask_i;
      end
    end
  end

  // request decode
  logic       is_q, aligned, q_ok;
  logic [5:0] rq;
  logic [3:0] ridx;
  logic [9:0] gidx;
  assign rq      = rq_addr_q[11:6];
  assign ridx    = rq_addr_q[5:2];
  assign gidx    = rq_addr_q[11:2];

  logic             x_req_q;    // stage 2: the request, decoded
  logic             x_isq_q, x_aligned_q, x_qok_q;
  logic [NUM_Q-1:0] x_qsel_q;   // the queue block addressed (one-hot; none if bad)
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      x_req_q     <= 1'b0;
      x_isq_q     <= 1'b0;
      x_aligned_q <= 1'b0;
      x_qok_q     <= 1'b0;
      x_qsel_q    <= '0;
    end else begin
      x_req_q     <= rq_req_q;
      x_isq_q     <= rq_addr_q[12];
      x_aligned_q <= (rq_addr_q[1:0] == 2'd0);
      x_qok_q     <= (32'(rq) < NUM_Q);
      x_qsel_q    <= '0;
      if (rq_addr_q[12] && rq_addr_q[1:0] == 2'd0 && 32'(rq) < NUM_Q) x_qsel_q[QW'(rq)] <= 1'b1;
    end
  end
  assign is_q    = x_isq_q;
  assign aligned = x_aligned_q;
  assign q_ok    = x_qok_q;

  localparam logic [9:0] G_CAPS = 10'd0, G_ERRQ_LO = 10'd2, G_ERRQ_HI = 10'd3, G_CPL_ID = 10'd4,
                         G_CPL_LEN = 10'd5, G_CPL_PUSH = 10'd6, G_CPL_STATUS = 10'd7,
                         G_CPL_REJ = 10'd8, G_CPL_BADQ = 10'd9, G_EVT_LO = 10'd10, G_EVT_HI = 10'd11,
                         G_TIMEOUT = 10'd12;

  logic        req;
  assign req = x_req_q;

  logic [31:0] cpl_id_q, cpl_len_q, cpl_rej_q, cpl_badq_q;
  logic [23:0] tmo_q;
  logic [31:0] wval_g;
  assign wval_g = rq_wdata_q & rq_wmask_q;

  // per-queue register access
  logic [NUM_Q-1:0]        qsel_wr, q_wr_err;
  logic [NUM_Q-1:0][31:0]  q_rdata;
  logic [NUM_Q-1:0]        q_err, q_idx_want;
  logic [NUM_Q-1:0][15:0]  q_idx_val;
  logic                    idx_arb_valid, slot_load;
  logic                    slot_valid_q;  // next used->idx write (queue number)
  logic [QW-1:0]           slot_q_q;
  logic                    sd_valid_q;    // ... second stage: the value and address
  logic [QW-1:0]           sd_q_q;
  logic [15:0]             sd_val_q;
  logic [AW-1:0]           sd_addr_q;
  logic [QW-1:0]           idx_arb_q;

  assign qsel_wr = (req && rq_we_q) ? x_qsel_q : '0;

  // CPL_PUSH check
  logic [5:0] push_q;
  logic       push_req, push_ok;
  assign push_q   = wval_g[5:0];
  assign push_req = req && !is_q && aligned && rq_we_q && (gidx == G_CPL_PUSH);
  // (the queue's enable and flush state as the ingress sees it: a cycle late)
  assign push_ok  = (wval_g[7:6] == 2'd0) && (32'(push_q) < NUM_Q) && !q_cpl_drop_o[QW'(push_q)] &&
                    !fw_full_i;
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
      G_TIMEOUT:    begin g_rdata = 32'(tmo_q); g_wr_err = 1'b0; end
      default:      g_rd_err = 1'b1;
    endcase
  end

  // reads: the data of the queue block and of the global registers are registered separately,
  // then chosen (the ack follows a cycle later)
  logic        rd_ack_q, wr_ack_q, err_q;
  logic [31:0] rdata_q;
  logic        rd_pend_q, rd_pend2_q, rd_isq_q, rd_err_q;
  logic        qwr_pend_q;   // a queue register write, answered with the queue's check
  logic [1:0]  qrst_pend_q;  // a queue reset write, answered two cycles later (never refused)
  logic        is_rst_wr;
  assign is_rst_wr = (ridx == 4'd4) && rq_wdata_q[2] && rq_wmask_q[2];
  logic        bad_q_q;      // a stream completion for a queue >= NUM_Q (counted a cycle late)
  logic [31:0] rd_qdata_q, rd_gdata_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_pend_q  <= 1'b0;
      rd_pend2_q <= 1'b0;
      qwr_pend_q <= 1'b0;
      qrst_pend_q <= '0;
      bad_q_q    <= 1'b0;
      rd_isq_q   <= 1'b0;
      rd_err_q   <= 1'b0;
      rd_qdata_q <= '0;
      rd_gdata_q <= '0;
    end else begin
      rd_pend_q  <= req && !rq_we_q;
      rd_pend2_q <= rd_pend_q;
      bad_q_q    <= bad_q_i;
      qwr_pend_q  <= req && rq_we_q && (x_qsel_q != '0) && !is_rst_wr;
      qrst_pend_q <= {qrst_pend_q[0], req && rq_we_q && (x_qsel_q != '0) && is_rst_wr};
      if (req && !rq_we_q) begin
        rd_isq_q <= is_q;
        rd_err_q <= !aligned || (is_q ? !q_ok : g_rd_err);
      end
      if (rd_pend_q) begin
        rd_qdata_q <= '0;
        for (int unsigned q = 0; q < NUM_Q; q++) begin
          if (x_qsel_q[q]) rd_qdata_q <= q_rdata[q];
        end
        rd_gdata_q <= g_rdata;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_ack_q   <= 1'b0;
      wr_ack_q   <= 1'b0;
      err_q      <= 1'b0;
      rdata_q    <= '0;
      tmo_q      <= 24'(MEM_TIMEOUT);
      cpl_id_q   <= '0;
      cpl_len_q  <= '0;
      cpl_rej_q  <= '0;
      cpl_badq_q <= '0;
    end else begin
      rd_ack_q <= rd_pend2_q;
      wr_ack_q <= qwr_pend_q || qrst_pend_q[1];
      err_q    <= (rd_pend2_q && rd_err_q) || (qwr_pend_q && |(x_qsel_q & q_wr_err));
      rdata_q  <= '0;
      if (rd_pend2_q && !rd_err_q) rdata_q <= rd_isq_q ? rd_qdata_q : rd_gdata_q;
      if (bad_q_q) cpl_badq_q <= cpl_badq_q + 32'd1;
      if (req && rq_we_q) begin
        wr_ack_q <= 1'b1;
        if (!aligned) begin
          err_q <= 1'b1;
        end else if (is_q) begin
          // a queue checks the write in this cycle and answers in the next
          wr_ack_q <= !q_ok;
          err_q    <= !q_ok;
        end else begin
          err_q <= g_wr_err;
          if (gidx == G_CPL_ID)  cpl_id_q  <= (cpl_id_q & ~rq_wmask_q) | wval_g;
          if (gidx == G_CPL_LEN) cpl_len_q <= (cpl_len_q & ~rq_wmask_q) | wval_g;
          if (gidx == G_TIMEOUT) tmo_q     <= 24'((32'(tmo_q) & ~rq_wmask_q) | wval_g);
          if (push_req && !push_ok) cpl_rej_q <= cpl_rej_q + 32'd1;
        end
      end
    end
  end
  assign s_reg_rd_ack_o = rd_ack_q;
  assign s_reg_wr_ack_o = wr_ack_q;
  assign s_reg_err_o    = err_q;
  assign s_reg_rdata_o  = rdata_q;
  assign tmo_limit_o    = tmo_q;

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
      .reg_wdata_i   (rq_wdata_q),
      .reg_wmask_i   (rq_wmask_q),
      .reg_wr_err_o  (q_wr_err[q]),
      .reg_rdata_o   (q_rdata[q]),
      .rst_done_o    (q_rst_done_o[q]),
      .acc_i         (acc_i[q]),
      .drop_i        (drop_i[q]),
      .cpl_ok_o      (q_cpl_ok_o[q]),
      .cpl_drop_o    (q_cpl_drop_o[q]),
      .ld_i          (ld_i[q]),
      .ld_end_i      (ld_end_i),
      .ld_adv_i      (ld_adv_i),
      .issue_i       (issue_i[q]),
      .issue_idx_i   (issue_idx_i),
      .idx_take_i    (idx_take_i && sd_q_q == QW'(q)),
      .idx_take_val_i(sd_val_q),
      .b_i           (b_i[q]),
      .b_idx_i       (b_idx_i),
      .b_ok_i        (b_ok_i),
      .b_val_i       (b_val_i),
      .b_adv_i       (b_adv_i),
      .b_addr_i      (b_addr_i),
      .ar_take_i     (ar_take_i && ar_q_i == QW'(q)),
      .r_i           (r_i[q]),
      .dec_i         (dec_i && r_i[q]),
      .dec_new_i     (dec_new_i),
      .dec_notify_i  (dec_notify_i),
      .rerr_i        (rerr_i && r_i[q]),
      .rerr_addr_i   (rerr_addr_i),
      .wr_tmo_i      (wr_tmo_i),
      .wr_tmo_addr_i (wr_tmo_addr_i),
      .rd_tmo_i      (rd_tmo_i),
      .rd_tmo_addr_i (rd_tmo_addr_i),
      .merged_i      (merged_i[q]),
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

  // next used->idx write: the slot is loaded only when empty, so that loading does not wait
  // for the write path's decision (an idx write every other cycle at most is plenty). While a
  // queue is in the slot nothing of its request changes but acked, which only grows, and the
  // flush flag, which drops the entry (from the next cycle on: the queue's reset waits for that).
  logic          slot_drop, sd_drop, sd_load;
  assign slot_load = idx_arb_valid && !slot_valid_q && !sd_valid_q;
  assign sd_load   = slot_valid_q && !sd_valid_q;
  assign slot_drop = q_flush_o[slot_q_q];
  assign sd_drop   = q_flush_o[sd_q_q];
  vmsg_eng_rr_arb #(.N(NUM_Q)) u_idx_arb (
    .clk_i, .rst_ni,
    .req_i       (q_idx_want),
    .take_i      (slot_load),
    .gnt_valid_o (idx_arb_valid),
    .gnt_idx_o   (idx_arb_q)
  );
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      slot_valid_q <= 1'b0;
      slot_q_q     <= '0;
      sd_valid_q   <= 1'b0;
      sd_q_q       <= '0;
      sd_val_q     <= '0;
      sd_addr_q    <= '0;
    end else begin
      if (slot_load) begin
        slot_valid_q <= 1'b1;
        slot_q_q     <= idx_arb_q;
      end else if (sd_load || slot_drop) begin
        slot_valid_q <= 1'b0;
      end
      if (sd_load) begin
        sd_valid_q <= !slot_drop;
        sd_q_q     <= slot_q_q;
        sd_val_q   <= q_idx_val[slot_q_q];
        // used->idx at used + 2; used is 4-byte aligned whenever the queue publishes (checked
        // when it is enabled, locked while it is busy)
        sd_addr_q  <= {q_used_o[slot_q_q][AW-1:2], 2'b10};
      end else if (idx_take_i || sd_drop) begin
        sd_valid_q <= 1'b0;
      end
    end
  end
  assign idx_valid_o = sd_valid_q;
  assign idx_q_o     = sd_q_q;
  assign idx_val_o   = sd_val_q;
  assign idx_addr_o  = sd_addr_q;

  // error interrupt: one pulse per queue entering the error state (several in a cycle: one
  // pulse), taken from the registered error flags so that it does not follow the error logic
  logic [NUM_Q-1:0] q_err_seen_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      q_err_seen_q <= '0;
      err_irq_o    <= 1'b0;
    end else begin
      q_err_seen_q <= q_err;
      err_irq_o    <= |(q_err & ~q_err_seen_q);
    end
  end

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  `VMSG_ASSUME(a_req_idle, s_reg_req_i -> !rq_req_q && !x_req_q,
    ("vmsg_eng_ctrl: register request before the previous one was answered"))
  `VMSG_ASSUME(a_idx_take, idx_take_i -> idx_valid_o,
    ("vmsg_eng_ctrl: used->idx write taken from an empty slot"))
`endif

endmodule

`default_nettype wire
